// The sandbox inbox's live part: the page is already rendered by the server; this keeps it
// current (server-sent events) and makes the controls work. No framework, no build step.
"use strict";
(function () {
  const params = new URLSearchParams(location.search);
  const live = document.getElementById("live");

  function say(text) { live.textContent = text; }

  async function call(method, url, body) {
    const answer = await fetch(url, {method, headers: {"Content-Type": "application/json"},
                                     body: body === undefined ? undefined : JSON.stringify(body)});
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) { throw new Error(data.error || answer.statusText); }
    return data;
  }

  // One refresh at a time; a change that arrives meanwhile asks for one more pass, so the page never
  // settles on a view fetched before the last change. A conversation is not replaced under someone
  // typing in one of its forms: it is marked stale and refreshed when they leave the form.
  let running = null;
  let again = false;
  let stale = false;
  function refresh() {
    if (running) { again = true; return running; }
    running = (async () => {
      do {
        again = false;
        const query = new URLSearchParams(params);
        const current = document.querySelector(".thread");
        if (current && !query.has("phone")) { query.set("phone", current.dataset.phone); }
        const data = await call("GET", "/_sandbox/fragment?" + query.toString());
        document.getElementById("phones").innerHTML = data.phones;
        document.getElementById("faults").innerHTML = data.faults;
        const typing = document.activeElement && document.activeElement.closest("#conversation form");
        if (typing) { stale = true; } else {
          document.getElementById("conversation").innerHTML = data.conversation;
          document.body.dataset.version = data.version;
          stale = false;
        }
      } while (again);
    })().finally(() => { running = null; });
    return running;
  }

  document.addEventListener("focusout", (event) => {
    if (stale && event.target.closest("#conversation form") &&
        !(event.relatedTarget && event.relatedTarget.closest("#conversation form"))) {
      refresh().catch((error) => say(error.message));
    }
  });

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches(".outcome-form, .reply-form, .unsubscribe-form")) { return; }
    event.preventDefault();
    const id = form.dataset.id;  // a string: ids pass 2**53, past what a JavaScript number holds exactly
    try {
      if (form.matches(".unsubscribe-form")) {
        await call("POST", "/_sandbox/unsubscribe", {id});
        say("The recipient of message " + id + " unsubscribed.");
      } else if (form.matches(".outcome-form")) {
        await call("POST", "/_sandbox/outcomes", {id, status: form.elements.status.value});
        say("Outcome of message " + id + " set to " + form.elements.status.value + ".");
      } else {
        const body = {id, message: form.elements.message.value || null};
        if (form.elements.media_url.value) { body.media_url = form.elements.media_url.value; }
        await call("POST", "/_sandbox/replies", body);
        say("Reply to message " + id + " sent.");
      }
      document.activeElement.blur();
      await refresh();
    } catch (error) { say("Not done: " + error.message); }
  });

  document.addEventListener("change", async (event) => {
    const box = event.target;
    if (!box.matches("input.fault")) { return; }
    try {
      if (box.checked) { await call("POST", "/_sandbox/faults", {kind: box.value, count: null}); }
      else { await call("DELETE", "/_sandbox/faults?kind=" + encodeURIComponent(box.value)); }
      say("Fault " + box.value + (box.checked ? " on." : " off."));
    } catch (error) { say("Not done: " + error.message); }
  });

  document.getElementById("clear").addEventListener("click", async () => {
    if (!confirm("Forget every message, reply, call and fault?")) { return; }
    await call("POST", "/_sandbox/reset");
    say("Cleared.");
    await refresh();
  });

  const events = new EventSource("/_sandbox/events");
  events.addEventListener("change", (event) => {
    if (event.data !== document.body.dataset.version) { refresh().catch((error) => say(error.message)); }
  });
  // statuses move with time: while a shown message is still on its way, look again every second
  setInterval(() => {
    const thread = document.querySelector(".thread");
    if (thread && thread.dataset.pending === "yes") { refresh().catch((error) => say(error.message)); }
  }, 1000);
})();
