"""The HR web console under /hr/: server-rendered pages (aiohttp + Jinja2, htmx where a page
updates itself) over the same services the chat uses, so no rule is written twice.

`context` holds what every page shares (the signed-in officer, roles, CSRF, rendering, audit);
`login` the passwordless sign-in through the officer's chat; one module per page.
"""
