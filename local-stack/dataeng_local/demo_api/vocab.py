"""Word lists the generated records draw from (plain data, no logic)."""

from __future__ import annotations

FIRST_NAMES = (
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "John",
    "Radia",
    "Tim",
    "Katherine",
    "Edsger",
    "Hedy",
    "Donald",
    "Sophie",
    "Guido",
    "Anita",
    "Bjarne",
    "Lucia",
    "Mateo",
    "Amara",
    "Kenji",
    "Priya",
    "Omar",
    "Ingrid",
    "Tomasz",
    "Yuki",
    "Zanele",
)
LAST_NAMES = (
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Backus",
    "Perlman",
    "Berners",
    "Johnson",
    "Dijkstra",
    "Lamarr",
    "Knuth",
    "Wilson",
    "Rossum",
    "Borg",
    "Stroustrup",
    "Garcia",
    "Silva",
    "Okafor",
    "Tanaka",
    "Sharma",
    "Haddad",
    "Larsen",
    "Nowak",
    "Sato",
    "Dlamini",
)
DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "corp.example")
# (country, currency); the US appears three times so a third of customers are American.
COUNTRIES = (
    ("US", "USD"),
    ("US", "USD"),
    ("US", "USD"),
    ("GB", "GBP"),
    ("DE", "EUR"),
    ("FR", "EUR"),
    ("NL", "EUR"),
    ("ES", "EUR"),
    ("IT", "EUR"),
    ("CA", "CAD"),
    ("AU", "AUD"),
    ("JP", "JPY"),
    ("BR", "BRL"),
    ("IN", "INR"),
    ("SE", "SEK"),
    ("CH", "CHF"),
    ("PL", "PLN"),
    ("ZA", "ZAR"),
)
EVENT_TYPES = (
    "page_view",
    "page_view",
    "page_view",
    "login",
    "add_to_cart",
    "add_to_cart",
    "checkout",
    "logout",
)
PAGES = ("/", "/products", "/products/{n}", "/cart", "/checkout", "/account", "/search?q=item{n}")
TAGS = (
    "vip",
    "newsletter",
    "b2b",
    "b2c",
    "trial",
    "annual",
    "monthly",
    "referral",
    "partner",
    "mobile",
    "web",
    "retail",
    "wholesale",
    "priority",
    "beta",
    "legacy",
)
LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore "
    "et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut "
    "aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse "
    "cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa "
    "qui officia deserunt mollit anim id est laborum. Curabitur pretium tincidunt lacus, nulla gravida "
    "orci a odio, nullam varius turpis et commodo pharetra est eros bibendum elit nec luctus magna felis."
)
