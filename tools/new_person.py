"""Print synthetic identities for fixtures: fødselsnummer/D-nummer (month + 80) and orgnr.

    .venv/bin/python tools/new_person.py 2018-05-14 --seed 7          # one synthetic FNR
    .venv/bin/python tools/new_person.py 1990-01-02 --dnr --seed 3    # a synthetic D-nummer
    .venv/bin/python tools/new_person.py --orgnr 4 --seed 11          # four organisation numbers

The same seed always prints the same numbers, so a fixture can say how its numbers were made.
Synthetic numbers can never belong to a real person (Skatteetaten's test population adds 80 to
the month); organisation numbers are random with a valid mod-11 control digit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys

from ipfhir.mappings.identifiers import synthetic_fnr, synthetic_orgnr

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("birth_date", nargs="?", help="YYYY-MM-DD")
    parser.add_argument("--dnr", action="store_true", help="a D-nummer instead of an FNR")
    parser.add_argument("--orgnr", type=int, default=0, metavar="N", help="print N orgnr")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    if args.birth_date:
        try:
            born = dt.date.fromisoformat(args.birth_date)
            print(synthetic_fnr(born, rng, d_number=args.dnr))
        except ValueError as err:
            print(f"new_person: {err}", file=sys.stderr)
            return 2
    for _ in range(args.orgnr):
        print(synthetic_orgnr(rng))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
