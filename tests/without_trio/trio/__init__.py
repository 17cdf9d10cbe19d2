"""Not trio: the processes the tests start see this instead of the real one.

trio is in the test environment only because selenium (the browser tests) needs it; a user's
install of alphasms-notify does not have it. httpcore imports trio whenever it is installed
(about 0.1 s of CPU in every process that sends), so without this the tests' hundreds of
``alphasms`` and ``apprise`` processes would start slower than a user's do.
"""

raise ImportError("trio is not installed for the program under test (only selenium's tests use it)")
