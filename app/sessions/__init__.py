"""Who is calling: sessions, the tokens that name them, and the request dependencies built on them."""
