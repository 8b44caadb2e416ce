"""A starter catalog of well-known films: title, year, genres, running time in minutes (facts only)."""

from __future__ import annotations

from typing import NamedTuple


class Film(NamedTuple):
    title: str
    year: int
    genres: tuple[str, ...]
    runtime_minutes: int


FILMS: tuple[Film, ...] = (
    Film("Stalker", 1979, ("drama", "sci-fi"), 162),
    Film("Solaris", 1972, ("drama", "sci-fi", "mystery"), 167),
    Film("Mirror", 1975, ("drama",), 108),
    Film("Andrei Rublev", 1966, ("drama", "history"), 205),
    Film("Ivan's Childhood", 1962, ("drama", "war"), 95),
    Film("Nostalghia", 1983, ("drama",), 125),
    Film("The Sacrifice", 1986, ("drama",), 149),
    Film("The Cranes Are Flying", 1957, ("drama", "romance", "war"), 97),
    Film("Come and See", 1985, ("drama", "war"), 142),
    Film("Moscow Does Not Believe in Tears", 1979, ("drama", "romance"), 150),
    Film("Battleship Potemkin", 1925, ("drama", "history"), 75),
    Film("Metropolis", 1927, ("drama", "sci-fi"), 153),
    Film("Seven Samurai", 1954, ("action", "drama"), 207),
    Film("Rashomon", 1950, ("crime", "drama", "mystery"), 88),
    Film("Tokyo Story", 1953, ("drama",), 136),
    Film("Spirited Away", 2001, ("animation", "fantasy"), 125),
    Film("My Neighbor Totoro", 1988, ("animation", "family", "fantasy"), 86),
    Film("2001: A Space Odyssey", 1968, ("adventure", "sci-fi"), 149),
    Film("Blade Runner", 1982, ("sci-fi", "thriller"), 117),
    Film("Alien", 1979, ("horror", "sci-fi"), 117),
    Film("The Godfather", 1972, ("crime", "drama"), 175),
    Film("Casablanca", 1942, ("drama", "romance", "war"), 102),
    Film("Citizen Kane", 1941, ("drama", "mystery"), 119),
    Film("Vertigo", 1958, ("mystery", "romance", "thriller"), 128),
    Film("Psycho", 1960, ("horror", "thriller"), 109),
    Film("Rear Window", 1954, ("mystery", "thriller"), 112),
    Film("Singin' in the Rain", 1952, ("comedy", "musical", "romance"), 103),
    Film("Some Like It Hot", 1959, ("comedy", "romance"), 121),
    Film("8½", 1963, ("drama",), 138),
    Film("La Dolce Vita", 1960, ("comedy", "drama"), 174),
    Film("Bicycle Thieves", 1948, ("drama",), 89),
    Film("The Seventh Seal", 1957, ("drama", "fantasy"), 96),
    Film("Persona", 1966, ("drama", "thriller"), 85),
    Film("In the Mood for Love", 2000, ("drama", "romance"), 98),
    Film("Amélie", 2001, ("comedy", "romance"), 122),
    Film("Pulp Fiction", 1994, ("crime", "drama"), 154),
    Film("The Matrix", 1999, ("action", "sci-fi"), 136),
    Film("Back to the Future", 1985, ("adventure", "comedy", "sci-fi"), 116),
    Film("Pan's Labyrinth", 2006, ("drama", "fantasy", "war"), 118),
    Film("The Grand Budapest Hotel", 2014, ("adventure", "comedy"), 99),
    Film("Mad Max: Fury Road", 2015, ("action", "sci-fi"), 120),
    Film("Parasite", 2019, ("drama", "thriller"), 132),
)
