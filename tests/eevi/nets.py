"""Small test networks (BIF text, our own numbers)."""

from simlab.eevi.bif import parse_bif

CHAIN3 = """
variable a { type discrete [ 2 ] { a0, a1 }; }
variable b { type discrete [ 3 ] { b0, b1, b2 }; }
variable c { type discrete [ 2 ] { c0, c1 }; }
probability ( a ) { table 0.3, 0.7; }
probability ( b | a ) { (a0) 0.6, 0.3, 0.1; (a1) 0.1, 0.2, 0.7; }
probability ( c | b ) { (b0) 0.9, 0.1; (b1) 0.5, 0.5; (b2) 0.15, 0.85; }
"""

FIVE = """
variable a { type discrete [ 2 ] { a0, a1 }; }
variable b { type discrete [ 2 ] { b0, b1 }; }
variable c { type discrete [ 3 ] { c0, c1, c2 }; }
variable d { type discrete [ 2 ] { d0, d1 }; }
variable e { type discrete [ 2 ] { e0, e1 }; }
probability ( a ) { table 0.4, 0.6; }
probability ( b ) { table 0.75, 0.25; }
probability ( c | a, b ) {
  (a0, b0) 0.8, 0.15, 0.05;
  (a0, b1) 0.2, 0.5, 0.3;
  (a1, b0) 0.1, 0.3, 0.6;
  (a1, b1) 0.05, 0.05, 0.9;
}
probability ( d | c ) { (c0) 0.95, 0.05; (c1) 0.6, 0.4; (c2) 0.1, 0.9; }
probability ( e | c, a ) {
  (c0, a0) 0.7, 0.3; (c0, a1) 0.4, 0.6;
  (c1, a0) 0.5, 0.5; (c1, a1) 0.2, 0.8;
  (c2, a0) 0.3, 0.7; (c2, a1) 0.05, 0.95;
}
"""


def chain3():
    return parse_bif(CHAIN3, "chain3")


def five():
    return parse_bif(FIVE, "five")
