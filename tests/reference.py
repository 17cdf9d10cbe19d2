"""The request and response examples of ../shared/alphasms-json-api.txt, as JSON.

Transcribed key for key; the reference's own typos (unbalanced braces, curly
quotes around "replies", a missing comma) are corrected, nothing else.
"""

IMAGE = "https://alphasms.ua/storage/images/json.png"

REQUESTS = {
    "balance": {"type": "balance"},
    "sms": {"type": "sms", "id": 100500, "phone": 380971234567, "sms_signature": "SMSTest",
            "sms_message": "Message text to be sent via SMS"},
    "viber_text": {"type": "viber", "id": 100500, "phone": 380971234567, "viber_type": "text",
                   "viber_signature": "ViberTest", "viber_message": "Message text to send via Viber"},
    "viber_image": {"type": "viber", "id": 100500, "phone": 380971234567, "viber_type": "image",
                    "viber_signature": "ViberTest", "viber_image": IMAGE},
    "viber_text_link": {"type": "viber", "id": 100500, "phone": 380971234567, "viber_type": "text+link",
                        "viber_signature": "ViberTest", "viber_message": "Message text to be sent via Viber",
                        "viber_link": "https://alphasms.ua", "viber_button": "Test"},
    "viber_text_image_link": {"type": "viber", "id": 100500, "phone": 380971234567,
                              "viber_type": "text+image+link", "viber_signature": "ViberTest",
                              "viber_message": "Message text to be sent via Viber", "viber_image": IMAGE,
                              "viber_link": "https://alphasms.ua", "viber_button": "Test"},
    "viber_sms": {"type": "viber+sms", "id": 100500, "phone": 380971234567, "sms_signature": "SMSTest",
                  "sms_message": "Message text to be sent via SMS", "viber_type": "text+image+link",
                  "viber_signature": "ViberTest", "viber_message": "Message text to be sent via Viber",
                  "viber_image": IMAGE, "viber_link": "https://alphasms.ua", "viber_button": "Test"},
    "hlr": {"type": "hlr", "phone": 380971234567},
    "status": {"type": "status", "id": 100500},
}

SEND_DATA = {"id": 100500, "msg_id": 123456789, "data": 1, "parts": 1}


def ok(data):
    return {"success": True, "data": [{"success": True, "data": data}]}


RESPONSES = {
    "balance": ok({"amount": 100500.0123, "currency": "UAH"}),
    "send": ok(SEND_DATA),
    "hlr": ok({
        "phone": 380971234567, "status": "DELIVERED", "imsi": 255010000000000, "mccmnc": 25501, "ported": True,
        "network": {
            "origin": {"name": "Kyivstar", "prefix": 97, "country": {"name": "Ukraine", "prefix": 380}},
            "ported": {"name": "Vodafone Ukraine (fka MTS)", "prefix": 66,
                       "country": {"name": "Ukraine", "prefix": 380}},
        },
    }),
    "status": ok({"id": 100500, "type": "viber", "status": "READ"}),
    "status_2way": ok({
        "id": 100500, "type": "viber", "status": "REPLIED",
        "replies": [
            {"datetime": "2022-05-01T12:01:02+03:00", "message": "Please wait"},
            {"datetime": "2022-05-03T14:21:17+03:00",
             "media": {"url": "https://alphasms.ua/home/vibermedia/?url=...", "filename": "Invoice.pdf",
                       "filesize": 67983}},
            {"datetime": "2022-05-03T14:28:17+03:00", "message": "Correct invoice",
             "media": {"url": "https://alphasms.ua/home/vibermedia/?url=...", "filename": "Invoice.pdf",
                       "filesize": 197265}},
        ],
    }),
    "request_error": {"success": False, "error": "Access denied"},
    "item_error": {"success": True, "data": [
        {"success": False, "error": "Error in viber alphaname", "data": {"id": 100500}}]},
}

STATUSES = [
    "ACCEPTED", "DELETED", "DELIVERED", "EXPIRED", "FILTERED", "INVALID DESTINATION ADDRESS",
    "INVALID SOURCE ADDRESS", "NO ROUTE", "PARTIALLY DELIVERED", "QUEUED", "READ", "REJECTED", "REPLIED",
    "ROUTING", "SIM FULL", "UNDELIVERABLE", "UNKNOWN", "WAIT",
]
