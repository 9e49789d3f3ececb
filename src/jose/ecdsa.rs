//! ECDSA signature verification on the NIST prime curves P-256, P-384 and
//! P-521 (ES256, ES384 and ES512, RFC 7518 §3.4), written once for any short
//! Weierstrass curve `y² = x³ - 3x + b` over a prime field.
//!
//! Why not the per-curve crates: each unrolls its field arithmetic for its
//! own curve, which costs far more WebAssembly than this module. Here one
//! Montgomery multiplication, with the modulus and its length in limbs
//! chosen at run time, serves every curve and both of its moduli (the field
//! prime `p` and the group order `n`), so the code exists once in the binary.
//!
//! Only public data passes through here (keys, messages, signatures), so
//! nothing needs to run in constant time. Every loop is bounded by the
//! curve's size, and no input can make it panic.

/// One limb of a multi-precision integer, and a type twice as wide for the
/// products: 64-bit limbs where the machine has them, 32-bit ones elsewhere
/// (wasm32 has no 64×64→128 multiplication).
#[cfg(target_pointer_width = "64")]
type Limb = u64;
#[cfg(target_pointer_width = "64")]
type Wide = u128;
#[cfg(not(target_pointer_width = "64"))]
type Limb = u32;
#[cfg(not(target_pointer_width = "64"))]
type Wide = u64;

const LIMB_BITS: usize = Limb::BITS as usize;
const LIMB_BYTES: usize = LIMB_BITS / 8;

/// Octets of the largest value handled: a P-521 field element or scalar.
const MAX_BYTES: usize = 66;

/// Limbs in every integer, whatever the curve; the limbs above a curve's
/// own length stay zero.
const LIMBS: usize = MAX_BYTES.div_ceil(LIMB_BYTES);

/// A non-negative integer below `2^(LIMB_BITS·LIMBS)`, least significant
/// limb first.
type Big = [Limb; LIMBS];

const ZERO: Big = [0; LIMBS];
const ONE: Big = {
    let mut one = ZERO;
    one[0] = 1;
    one
};
const TWO: Big = {
    let mut two = ZERO;
    two[0] = 2;
    two
};

/// Domain parameters of a curve `y² = x³ - 3x + b` over GF(p) with a base
/// point `G` of prime order `n` and cofactor 1.
pub(crate) struct Curve {
    /// Octets of a coordinate, and of each of `r` and `s` in a JWS signature
    /// (RFC 7518 §3.4, §6.2.1.2).
    size: usize,
    /// Bit length of `n`: a hash longer than this would need truncating
    /// (SEC 1 §4.1.4 step 3).
    order_bits: usize,
    p: Big,
    n: Big,
    b: Big,
    gx: Big,
    gy: Big,
}

impl Curve {
    /// Limbs that hold one field element or scalar of this curve.
    fn len(&self) -> usize {
        self.size.div_ceil(LIMB_BYTES)
    }
}

/// P-256 (secp256r1): SEC 2 v2 §2.4.2, FIPS 186-4 §D.1.2.3.
pub(crate) static P256: Curve = Curve {
    size: 32,
    order_bits: 256,
    p: big("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"),
    n: big("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"),
    b: big("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b"),
    gx: big("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"),
    gy: big("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"),
};

/// P-384 (secp384r1): SEC 2 v2 §2.5.1, FIPS 186-4 §D.1.2.4.
pub(crate) static P384: Curve = Curve {
    size: 48,
    order_bits: 384,
    p: big(concat!(
        "ffffffffffffffffffffffffffffffffffffffffffffffff",
        "fffffffffffffffeffffffff0000000000000000ffffffff",
    )),
    n: big(concat!(
        "ffffffffffffffffffffffffffffffffffffffffffffffff",
        "c7634d81f4372ddf581a0db248b0a77aecec196accc52973",
    )),
    b: big(concat!(
        "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe814112",
        "0314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
    )),
    gx: big(concat!(
        "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b98",
        "59f741e082542a385502f25dbf55296c3a545e3872760ab7",
    )),
    gy: big(concat!(
        "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147c",
        "e9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
    )),
};

/// P-521 (secp521r1): SEC 2 v2 §2.6.1, FIPS 186-4 §D.1.2.5.
pub(crate) static P521: Curve = Curve {
    size: 66,
    order_bits: 521,
    p: big(concat!(
        "01ffffffffffffffffffffffffffffffffffffffffff",
        "ffffffffffffffffffffffffffffffffffffffffffff",
        "ffffffffffffffffffffffffffffffffffffffffffff",
    )),
    n: big(concat!(
        "01ffffffffffffffffffffffffffffffffffffffffff",
        "fffffffffffffffffffffffa51868783bf2f966b7fcc",
        "0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
    )),
    b: big(concat!(
        "0051953eb9618e1c9a1f929a21a0b68540eea2da725b",
        "99b315f3b8b489918ef109e156193951ec7e937b1652",
        "c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00",
    )),
    gx: big(concat!(
        "00c6858e06b70404e9cd9e3ecb662395b4429c648139",
        "053fb521f828af606b4d3dbaa14b5e77efe75928fe1d",
        "c127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66",
    )),
    gy: big(concat!(
        "011839296a789a3bc0045c8a5fb42c7d1bd998f54449",
        "579b446817afbd17273e662c97ee72995ef42640c550",
        "b9013fad0761353c7086a272c24088be94769fd16650",
    )),
};

/// Big-endian hexadecimal to an integer, evaluated at compile time for the
/// constants above. Digits beyond the integer's width are dropped; the unit
/// tests check every constant (generator on the curve, `n·G` the identity).
const fn big(hex: &str) -> Big {
    const DIGITS_PER_LIMB: usize = LIMB_BITS / 4;
    let mut out = ZERO;
    let mut digits = hex.as_bytes();
    let mut k = 0;
    while let [rest @ .., last] = digits {
        let nibble = match *last {
            b'0'..=b'9' => *last - b'0',
            b'a'..=b'f' => *last - b'a' + 10,
            _ => 0,
        };
        let mut limbs: &mut [Limb] = &mut out;
        let mut i = 0;
        while let [limb, tail @ ..] = limbs {
            if i == k / DIGITS_PER_LIMB {
                *limb |= (nibble as Limb) << (4 * (k % DIGITS_PER_LIMB));
            }
            limbs = tail;
            i += 1;
        }
        k += 1;
        digits = rest;
    }
    out
}

/// Big-endian octets to an integer; `None` if they do not fit.
fn from_be(bytes: &[u8]) -> Option<Big> {
    let mut out = ZERO;
    for (k, &byte) in bytes.iter().rev().enumerate() {
        let limb = out.get_mut(k / LIMB_BYTES)?;
        *limb |= Limb::from(byte) << (8 * (k % LIMB_BYTES));
    }
    Some(out)
}

fn is_zero(a: &Big) -> bool {
    a.iter().all(|&l| l == 0)
}

/// `a < b`.
fn lt(a: &Big, b: &Big) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// Bit `i` of `a` (bit 0 is the least significant).
fn bit(a: &Big, i: usize) -> bool {
    a.get(i / LIMB_BITS)
        .is_some_and(|l| (l >> (i % LIMB_BITS)) & 1 == 1)
}

/// `a + b` over the low `len` limbs, and the carry out of them.
fn adc(a: &Big, b: &Big, len: usize) -> (Big, bool) {
    let mut out = ZERO;
    let mut carry = false;
    if let (Some(o), Some(a), Some(b)) = (out.get_mut(..len), a.get(..len), b.get(..len)) {
        for ((o, &x), &y) in o.iter_mut().zip(a).zip(b) {
            let (v, f1) = x.overflowing_add(y);
            let (v, f2) = v.overflowing_add(Limb::from(carry));
            *o = v;
            carry = f1 || f2;
        }
    }
    (out, carry)
}

/// `a - b` over the low `len` limbs, and the borrow out of them.
fn sbb(a: &Big, b: &Big, len: usize) -> (Big, bool) {
    let mut out = ZERO;
    let mut borrow = false;
    if let (Some(o), Some(a), Some(b)) = (out.get_mut(..len), a.get(..len), b.get(..len)) {
        for ((o, &x), &y) in o.iter_mut().zip(a).zip(b) {
            let (v, f1) = x.overflowing_sub(y);
            let (v, f2) = v.overflowing_sub(Limb::from(borrow));
            *o = v;
            borrow = f1 || f2;
        }
    }
    (out, borrow)
}

/// `t + x·y + c` split into its low and high limbs; cannot overflow.
#[inline(always)]
fn mac(t: Limb, x: Limb, y: Limb, c: Limb) -> (Limb, Limb) {
    let w = Wide::from(t) + Wide::from(x) * Wide::from(y) + Wide::from(c);
    (w as Limb, (w >> LIMB_BITS) as Limb)
}

/// Arithmetic modulo an odd `m` of `len` limbs, in Montgomery form with
/// `R = 2^(LIMB_BITS·len)`. Every result is fully reduced (below `m`), so
/// equal residues have equal representations.
struct Modulus {
    m: Big,
    len: usize,
    /// `-m⁻¹ mod 2^LIMB_BITS`.
    m_inv: Limb,
    /// `R² mod m`, to enter Montgomery form.
    r2: Big,
}

impl Modulus {
    fn new(m: &Big, len: usize) -> Self {
        let mut modulus = Modulus {
            m: *m,
            len,
            m_inv: neg_inverse(m[0]),
            r2: ZERO,
        };
        // R² mod m by doubling 1 modulo m, 2·LIMB_BITS·len times.
        let mut r2 = ONE;
        for _ in 0..2 * LIMB_BITS * len {
            r2 = modulus.add(&r2, &r2);
        }
        modulus.r2 = r2;
        modulus
    }

    /// `v - m` if `v ≥ m` (with `carry` the bit above `len` limbs), else `v`:
    /// brings a value below `2m` below `m`.
    fn reduce_once(&self, v: Big, carry: bool) -> Big {
        if carry || !lt(&v, &self.m) {
            sbb(&v, &self.m, self.len).0
        } else {
            v
        }
    }

    fn add(&self, a: &Big, b: &Big) -> Big {
        let (sum, carry) = adc(a, b, self.len);
        self.reduce_once(sum, carry)
    }

    fn sub(&self, a: &Big, b: &Big) -> Big {
        let (diff, borrow) = sbb(a, b, self.len);
        if borrow {
            adc(&diff, &self.m, self.len).0
        } else {
            diff
        }
    }

    /// Montgomery product `a·b·R⁻¹ mod m` of `a, b < m`, limb by limb
    /// (coarsely integrated operand scanning).
    fn mul(&self, a: &Big, b: &Big) -> Big {
        let mut t = ZERO;
        // Slicing once up front keeps the inner loops free of length checks.
        let (Some(a), Some(b), Some(m), Some(tt)) = (
            a.get(..self.len),
            b.get(..self.len),
            self.m.get(..self.len),
            t.get_mut(..self.len),
        ) else {
            return ZERO;
        };
        // The limb above tt.
        let mut hi: Limb = 0;
        for &ai in a {
            // tt += ai·b
            let mut c = 0;
            for (tj, &bj) in tt.iter_mut().zip(b) {
                (*tj, c) = mac(*tj, ai, bj, c);
            }
            let (h, over) = hi.overflowing_add(c);
            // tt = (tt + q·m) / 2^LIMB_BITS, with q chosen so that the low
            // limb of the sum is zero: each limb of the sum is stored one
            // place down, and the (zero) low limb is dropped.
            let q = tt.first().map_or(0, |t0| t0.wrapping_mul(self.m_inv));
            let mut c = 0;
            let mut below: Option<&mut Limb> = None;
            for (tj, &mj) in tt.iter_mut().zip(m) {
                let (lo, carry) = mac(*tj, q, mj, c);
                c = carry;
                if let Some(slot) = below {
                    *slot = lo;
                }
                below = Some(tj);
            }
            let (top, over2) = h.overflowing_add(c);
            if let Some(slot) = below {
                *slot = top;
            }
            hi = Limb::from(over) + Limb::from(over2);
        }
        // t < 2m here; one subtraction completes the reduction.
        self.reduce_once(t, hi != 0)
    }

    fn sqr(&self, a: &Big) -> Big {
        self.mul(a, a)
    }

    /// `a` (below m) into Montgomery form.
    fn to_mont(&self, a: &Big) -> Big {
        self.mul(a, &self.r2)
    }

    /// `a` out of Montgomery form, back to a plain integer.
    fn to_plain(&self, a: &Big) -> Big {
        self.mul(a, &ONE)
    }

    /// `a⁻¹` in Montgomery form by Fermat's little theorem (`a^(m-2)`, m
    /// prime); zero for zero, which callers never pass.
    fn inv(&self, a: &Big) -> Big {
        let (e, _) = sbb(&self.m, &TWO, self.len);
        let mut r = self.to_mont(&ONE);
        for i in (0..self.len * LIMB_BITS).rev() {
            r = self.sqr(&r);
            if bit(&e, i) {
                r = self.mul(&r, a);
            }
        }
        r
    }
}

/// `-m⁻¹ mod 2^LIMB_BITS` for odd `m0`, by Newton's iteration
/// `x ← x·(2 - m0·x)`, which doubles the correct low bits of the inverse
/// each step, starting from the one bit that is right for any odd `m0`.
fn neg_inverse(m0: Limb) -> Limb {
    let mut x: Limb = 1;
    for _ in 0..LIMB_BITS.trailing_zeros() {
        x = x.wrapping_mul((2 as Limb).wrapping_sub(m0.wrapping_mul(x)));
    }
    x.wrapping_neg()
}

/// A point in Jacobian coordinates `(X : Y : Z)`, standing for the affine
/// point `(X/Z², Y/Z³)`, each coordinate in Montgomery form modulo `p`.
/// `Z = 0` is the point at infinity (the group identity).
#[derive(Clone, Copy)]
struct Point {
    x: Big,
    y: Big,
    z: Big,
}

/// The field of a curve and the group law on it.
struct Group<'c> {
    curve: &'c Curve,
    fp: Modulus,
}

impl<'c> Group<'c> {
    fn new(curve: &'c Curve) -> Self {
        Group {
            curve,
            fp: Modulus::new(&curve.p, curve.len()),
        }
    }

    /// The point with affine coordinates `x, y < p` (not in Montgomery form).
    fn affine(&self, x: &Big, y: &Big) -> Point {
        Point {
            x: self.fp.to_mont(x),
            y: self.fp.to_mont(y),
            z: self.fp.to_mont(&ONE),
        }
    }

    /// Whether affine `x, y < p` satisfy `y² = x³ - 3x + b` (SEC 1 §3.2.2.1
    /// step 2).
    fn on_curve(&self, x: &Big, y: &Big) -> bool {
        let f = &self.fp;
        let (x, y) = (f.to_mont(x), f.to_mont(y));
        let x3 = f.mul(&f.sqr(&x), &x);
        let three_x = f.add(&f.add(&x, &x), &x);
        let rhs = f.add(&f.sub(&x3, &three_x), &f.to_mont(&self.curve.b));
        f.sqr(&y) == rhs
    }

    /// `2P`, for `a = -3` ("dbl-2001-b" of the Explicit-Formulas Database).
    /// The identity doubles to the identity (`Z3 = 0` when `Z1 = 0`), and a
    /// prime-order curve has no point with `Y = 0` to double to it.
    fn double(&self, p: &Point) -> Point {
        let f = &self.fp;
        let delta = f.sqr(&p.z);
        let gamma = f.sqr(&p.y);
        let beta = f.mul(&p.x, &gamma);
        // alpha = 3·(X - delta)·(X + delta) = 3X² - 3Z⁴, the tangent slope
        // numerator with a = -3.
        let t = f.mul(&f.sub(&p.x, &delta), &f.add(&p.x, &delta));
        let alpha = f.add(&f.add(&t, &t), &t);
        let beta2 = f.add(&beta, &beta);
        let beta4 = f.add(&beta2, &beta2);
        let beta8 = f.add(&beta4, &beta4);
        let x = f.sub(&f.sqr(&alpha), &beta8);
        let z = f.sub(&f.sub(&f.sqr(&f.add(&p.y, &p.z)), &gamma), &delta);
        let gamma2 = f.sqr(&gamma);
        let gamma4 = f.add(&gamma2, &gamma2);
        let gamma8 = f.add(&gamma4, &gamma4);
        let gamma16 = f.add(&gamma8, &gamma8);
        let y = f.sub(&f.mul(&alpha, &f.sub(&beta4, &x)), &gamma16);
        Point { x, y, z }
    }

    /// `P + Q` for any two points, the identity and equal or opposite points
    /// included ("add-1998-cmo-2").
    fn add(&self, p: &Point, q: &Point) -> Point {
        let f = &self.fp;
        if is_zero(&p.z) {
            return *q;
        }
        if is_zero(&q.z) {
            return *p;
        }
        let z1z1 = f.sqr(&p.z);
        let z2z2 = f.sqr(&q.z);
        let u1 = f.mul(&p.x, &z2z2);
        let u2 = f.mul(&q.x, &z1z1);
        let s1 = f.mul(&f.mul(&p.y, &q.z), &z2z2);
        let s2 = f.mul(&f.mul(&q.y, &p.z), &z1z1);
        let h = f.sub(&u2, &u1);
        let r = f.sub(&s2, &s1);
        if is_zero(&h) {
            // Same x: the points are equal (double) or opposite (identity).
            return if is_zero(&r) {
                self.double(p)
            } else {
                Point {
                    x: ZERO,
                    y: ZERO,
                    z: ZERO,
                }
            };
        }
        let hh = f.sqr(&h);
        let hhh = f.mul(&h, &hh);
        let v = f.mul(&u1, &hh);
        let x = f.sub(&f.sub(&f.sqr(&r), &hhh), &f.add(&v, &v));
        let y = f.sub(&f.mul(&r, &f.sub(&v, &x)), &f.mul(&s1, &hhh));
        let z = f.mul(&f.mul(&p.z, &q.z), &h);
        Point { x, y, z }
    }

    /// `u1·G + u2·Q` for scalars below `2^(8·size)`, by Shamir's trick with
    /// a joint window of two bits: one pass of doublings over both scalars,
    /// adding `i·G + j·Q` (i, j < 4) from a table every two bits.
    fn double_mul(&self, u1: &Big, u2: &Big, q: &Point) -> Point {
        let c = self.curve;
        let g = self.affine(&c.gx, &c.gy);
        let identity = Point {
            x: ZERO,
            y: ZERO,
            z: ZERO,
        };
        // table[i + 4j] = i·G + j·Q, built by adding G along each row of
        // four and Q down the first column.
        let mut table = [identity; 16];
        for idx in 1..table.len() {
            let (from, step) = if idx % 4 == 0 {
                (idx - 4, q)
            } else {
                (idx - 1, &g)
            };
            let sum = table.get(from).map(|p| self.add(p, step));
            if let (Some(slot), Some(sum)) = (table.get_mut(idx), sum) {
                *slot = sum;
            }
        }
        let mut acc = identity;
        for w in (0..(8 * c.size).div_ceil(2)).rev() {
            acc = self.double(&self.double(&acc));
            let idx = usize::from(bit(u1, 2 * w))
                | usize::from(bit(u1, 2 * w + 1)) << 1
                | usize::from(bit(u2, 2 * w)) << 2
                | usize::from(bit(u2, 2 * w + 1)) << 3;
            if let Some(addend) = table.get(idx) {
                acc = self.add(&acc, addend);
            }
        }
        acc
    }
}

/// A validated ECDSA public key: an affine point on its curve other than
/// the identity, with coordinates below `p`.
#[derive(Clone)]
pub(crate) struct PublicKey {
    curve: &'static Curve,
    x: Big,
    y: Big,
}

impl PublicKey {
    /// The key with the big-endian affine coordinates `x` and `y`.
    ///
    /// RFC 7518 §6.2.1.2 and §6.2.1.3 make each coordinate exactly the
    /// field size in octets, so any other length is refused; SEC 1 §3.2.2.1
    /// then asks for coordinates below `p` and a point on the curve. The
    /// identity has no affine coordinates, and `n·Q = O` holds for every
    /// point of a curve of prime order `n` (cofactor 1), so nothing else
    /// needs checking.
    pub(crate) fn from_coordinates(curve: &'static Curve, x: &[u8], y: &[u8]) -> Option<Self> {
        if x.len() != curve.size || y.len() != curve.size {
            return None;
        }
        let (x, y) = (from_be(x)?, from_be(y)?);
        if !lt(&x, &curve.p) || !lt(&y, &curve.p) || !Group::new(curve).on_curve(&x, &y) {
            return None;
        }
        Some(PublicKey { curve, x, y })
    }

    /// Whether `signature`, the fixed-length `r || s` of RFC 7518 §3.4, is a
    /// valid ECDSA signature over a message whose hash is `hash`
    /// (SEC 1 §4.1.4, FIPS 186-4 §6.4).
    ///
    /// `hash` may be no longer than the order `n` (in bits), so the
    /// truncation of SEC 1 §4.1.4 step 3 keeps it whole: RFC 7518 pairs
    /// P-384 with SHA-384 and P-521 with SHA-512, both within that bound.
    /// A longer hash is refused rather than truncated.
    pub(crate) fn verify_prehash(&self, hash: &[u8], signature: &[u8]) -> bool {
        let c = self.curve;
        let len = c.len();
        // `len > bits / 8` is `8·len > bits` without a multiplication that
        // an absurd length could overflow.
        if signature.len() != 2 * c.size || hash.len() > c.order_bits / 8 {
            return false;
        }
        let Some((r, s)) = signature.split_at_checked(c.size) else {
            return false;
        };
        let (Some(r), Some(s), Some(e)) = (from_be(r), from_be(s), from_be(hash)) else {
            return false;
        };
        // Step 1: r and s must lie in [1, n-1].
        if is_zero(&r) || is_zero(&s) || !lt(&r, &c.n) || !lt(&s, &c.n) {
            return false;
        }
        let fn_ = Modulus::new(&c.n, len);
        // Steps 2-3: e is the hash as an integer, below 2^order_bits and so
        // below 2n; one subtraction reduces it modulo n.
        let e = fn_.reduce_once(e, false);
        // Steps 4-5: w = s⁻¹, u1 = e·w, u2 = r·w (mod n). w stays in
        // Montgomery form so that multiplying a plain value by it gives a
        // plain result.
        let w = fn_.inv(&fn_.to_mont(&s));
        let u1 = fn_.mul(&e, &w);
        let u2 = fn_.mul(&r, &w);
        let group = Group::new(c);
        let q = group.affine(&self.x, &self.y);
        let point = group.double_mul(&u1, &u2, &q);
        // Step 5: the identity means the signature is invalid.
        if is_zero(&point.z) {
            return false;
        }
        // Steps 6-8: v = x(R) mod n must equal r. x(R) < p < 2n on these
        // curves, so one subtraction reduces it.
        let f = &group.fp;
        let z_inv = f.inv(&point.z);
        let x = f.to_plain(&f.mul(&point.x, &f.sqr(&z_inv)));
        fn_.reduce_once(x, false) == r
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use serde_json::Value;
    use sha2::Digest as _;

    use super::*;

    const CURVES: [&Curve; 3] = [&P256, &P384, &P521];

    fn to_be(a: &Big, size: usize) -> Vec<u8> {
        let mut out = vec![0u8; size];
        for (k, byte) in out.iter_mut().rev().enumerate() {
            *byte = (a[k / LIMB_BYTES] >> (8 * (k % LIMB_BYTES))) as u8;
        }
        out
    }

    fn bit_length(a: &Big) -> usize {
        (0..LIMBS * LIMB_BITS)
            .rev()
            .find(|&i| bit(a, i))
            .map_or(0, |i| i + 1)
    }

    /// `k·G` in affine coordinates (not Montgomery form), `None` for the identity.
    fn times_g(c: &Curve, k: &Big) -> Option<(Big, Big)> {
        let g = Group::new(c);
        let p = g.double_mul(k, &ZERO, &g.affine(&c.gx, &c.gy));
        if is_zero(&p.z) {
            return None;
        }
        let f = &g.fp;
        let zi = f.inv(&p.z);
        let zi2 = f.sqr(&zi);
        let x = f.to_plain(&f.mul(&p.x, &zi2));
        let y = f.to_plain(&f.mul(&p.y, &f.mul(&zi2, &zi)));
        Some((x, y))
    }

    /// The first group's key and its first valid test of a Wycheproof P1363
    /// file: (curve, x, y, message, signature).
    fn wycheproof_valid(c: &'static Curve, file: &str) -> (PublicKey, Vec<u8>, Vec<u8>, Vec<u8>) {
        let path = format!(
            "{}/tests/vectors/wycheproof/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let group = &doc["testGroups"][0];
        let hex_field = |v: &Value| hex::decode(v.as_str().unwrap()).unwrap();
        let x = hex_field(&group["publicKey"]["wx"]);
        let y = hex_field(&group["publicKey"]["wy"]);
        // Wycheproof writes coordinates as signed integers: drop a leading
        // zero octet, pad to the field size.
        let fixed = |v: Vec<u8>| {
            let v: Vec<u8> = v.into_iter().skip_while(|b| *b == 0).collect();
            let mut out = vec![0u8; c.size - v.len()];
            out.extend(v);
            out
        };
        let (x, y) = (fixed(x), fixed(y));
        let key = PublicKey::from_coordinates(c, &x, &y).expect("the Wycheproof key is valid");
        let test = group["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["result"] == "valid")
            .unwrap();
        (key, y, hex_field(&test["msg"]), hex_field(&test["sig"]))
    }

    fn hash_for(c: &Curve, msg: &[u8]) -> Vec<u8> {
        match c.size {
            32 => sha2::Sha256::digest(msg).to_vec(),
            48 => sha2::Sha384::digest(msg).to_vec(),
            _ => sha2::Sha512::digest(msg).to_vec(),
        }
    }

    /// A valid signature from Wycheproof, with what the tests vary.
    struct Vector {
        curve: &'static Curve,
        key: PublicKey,
        y: Vec<u8>,
        hash: Vec<u8>,
        sig: Vec<u8>,
    }

    fn valid_vectors() -> [Vector; 3] {
        [
            (&P256, "ecdsa_secp256r1_sha256_p1363_test.json"),
            (&P384, "ecdsa_secp384r1_sha384_p1363_test.json"),
            (&P521, "ecdsa_secp521r1_sha512_p1363_test.json"),
        ]
        .map(|(curve, file)| {
            let (key, y, msg, sig) = wycheproof_valid(curve, file);
            Vector {
                curve,
                key,
                y,
                hash: hash_for(curve, &msg),
                sig,
            }
        })
    }

    #[test]
    fn domain_parameters_are_consistent() {
        for c in CURVES {
            // Odd moduli for Montgomery arithmetic; n < p < 2n so that one
            // subtraction reduces x(R) modulo n.
            assert_eq!(c.p[0] & 1, 1);
            assert_eq!(c.n[0] & 1, 1);
            assert!(lt(&c.n, &c.p));
            assert!(lt(&c.p, &adc(&c.n, &c.n, LIMBS).0));
            assert_eq!(bit_length(&c.n), c.order_bits);
            assert!(bit_length(&c.p) <= 8 * c.size && bit_length(&c.p) > 8 * (c.size - 1));
        }
        // P-521's prime is the Mersenne number 2^521 - 1.
        assert_eq!(bit_length(&P521.p), 521);
        assert!((0..521).all(|i| bit(&P521.p, i)));
    }

    #[test]
    fn generator_is_on_the_curve() {
        for c in CURVES {
            assert!(Group::new(c).on_curve(&c.gx, &c.gy));
            assert!(
                PublicKey::from_coordinates(c, &to_be(&c.gx, c.size), &to_be(&c.gy, c.size))
                    .is_some()
            );
        }
    }

    #[test]
    fn order_times_generator_is_the_identity() {
        for c in CURVES {
            assert_eq!(times_g(c, &c.n), None);
            assert_eq!(times_g(c, &ONE), Some((c.gx, c.gy)));
            // (n - 1)·G = -G = (Gx, p - Gy).
            let n_1 = sbb(&c.n, &ONE, LIMBS).0;
            let minus_gy = sbb(&c.p, &c.gy, LIMBS).0;
            assert_eq!(times_g(c, &n_1), Some((c.gx, minus_gy)));
            // 2·G by the scalar ladder equals G + G by the group law.
            let g = Group::new(c);
            let gp = g.affine(&c.gx, &c.gy);
            let sum = g.add(&gp, &gp);
            let (x2, _) = times_g(c, &TWO).unwrap();
            let f = &g.fp;
            let zi = f.inv(&sum.z);
            assert_eq!(f.to_plain(&f.mul(&sum.x, &f.sqr(&zi))), x2);
        }
    }

    #[test]
    fn modular_inverse_and_montgomery_round_trip() {
        for c in CURVES {
            for m in [&c.p, &c.n] {
                let f = Modulus::new(m, c.len());
                for a in [ONE, TWO, c.gx, sbb(m, &ONE, LIMBS).0] {
                    let am = f.to_mont(&a);
                    assert_eq!(f.to_plain(&am), a);
                    assert_eq!(f.to_plain(&f.mul(&am, &f.inv(&am))), ONE);
                }
            }
        }
    }

    #[test]
    fn valid_signatures_verify_and_the_negated_key_fails() {
        for Vector {
            curve: c,
            key,
            y,
            hash,
            sig,
        } in valid_vectors()
        {
            assert!(key.verify_prehash(&hash, &sig));
            // -Q = (x, p - y) is on the curve too, but the signature is not
            // for it.
            let minus_y = sbb(&c.p, &from_be(&y).unwrap(), LIMBS).0;
            let negated =
                PublicKey::from_coordinates(c, &to_be(&key.x, c.size), &to_be(&minus_y, c.size))
                    .unwrap();
            assert!(!negated.verify_prehash(&hash, &sig));
            // A different hash fails.
            let mut other = hash.clone();
            other[0] ^= 1;
            assert!(!key.verify_prehash(&other, &sig));
        }
    }

    #[test]
    fn out_of_range_and_misshapen_signatures_are_refused() {
        for Vector {
            curve: c,
            key,
            hash,
            sig,
            ..
        } in valid_vectors()
        {
            let (r, s) = sig.split_at(c.size);
            let zero = vec![0u8; c.size];
            let n = to_be(&c.n, c.size);
            let n_plus_r = to_be(&adc(&c.n, &from_be(r).unwrap(), LIMBS).0, c.size + 1);
            for (r, s) in [(&zero[..], s), (r, &zero[..]), (&n[..], s), (r, &n[..])] {
                assert!(!key.verify_prehash(&hash, &[r, s].concat()));
            }
            // Wrong lengths (one octet short, one long), and r + n: as the
            // same residue it must still be refused.
            assert!(!key.verify_prehash(&hash, &sig[1..]));
            assert!(!key.verify_prehash(&hash, &[&sig[..], &[0]].concat()));
            if n_plus_r[0] == 0 {
                assert!(!key.verify_prehash(&hash, &[&n_plus_r[1..], s].concat()));
            }
            assert!(!key.verify_prehash(&hash, &[&n_plus_r[..], s].concat()));
            assert!(!key.verify_prehash(&hash, &[]));
            // A hash longer than the order is refused, not truncated.
            let long = [&hash[..], &[0u8; 64][..]].concat();
            assert!(!key.verify_prehash(&long, &sig));
        }
    }

    #[test]
    fn keys_off_the_curve_or_out_of_range_are_refused() {
        for c in CURVES {
            let gx = to_be(&c.gx, c.size);
            let gy = to_be(&c.gy, c.size);
            let p = to_be(&c.p, c.size);
            let zero = vec![0u8; c.size];
            let mut off = gy.clone();
            off[c.size - 1] ^= 1;
            // x + p names the same field element as x, but is not canonical.
            let gx_plus_p = adc(&c.gx, &c.p, LIMBS).0;
            for (x, y) in [
                (&gx[..], &off[..]),
                (&zero[..], &zero[..]),
                (&p[..], &gy[..]),
                (&gx[..], &p[..]),
                (&gx[1..], &gy[..]),
                (&gx[..], &gy[1..]),
                (&[&[0u8][..], &gx[..]].concat()[..], &gy[..]),
                (&[][..], &[][..]),
            ] {
                assert!(PublicKey::from_coordinates(c, x, y).is_none());
            }
            if bit_length(&gx_plus_p) <= 8 * c.size {
                assert!(PublicKey::from_coordinates(c, &to_be(&gx_plus_p, c.size), &gy).is_none());
            }
        }
    }
}
