"""Matrix products (mm, bmm, mv, dot, addmm/addmv/baddbmm, outer, matmul,
einsum) against torch: dtypes, shapes with 0-size dims, non-contiguous and
broadcast operands, and torch's errors."""
import numpy as np
import pytest

import tensord as td
from helpers import assert_same, pair

PRODUCT_DTYPES = ["float32", "float64", "bfloat16", "int64", "int32", "int16", "uint8"]


def data(shape, dtype, seed=0):
    rs = np.random.RandomState(seed)
    if dtype in ("float32", "float64", "bfloat16", "float16"):
        return rs.randn(*shape)
    return rs.randint(0, 4, size=shape)


def tol(dtype):
    return dict(rtol=3e-2, atol=0.5) if dtype == "bfloat16" else dict(rtol=1e-5, atol=1e-5)


def make(ref, shape, dtype, seed=0, layout="contiguous"):
    """A tensord/torch pair of `shape`; layout 'transposed' swaps the last two
    dims of a contiguous tensor (a non-contiguous view, with the ops the shape
    family provides), 'expanded' broadcasts a size-1 leading dim."""
    if layout == "contiguous":
        return pair(ref, data(shape, dtype, seed), dtype)
    if layout == "transposed":
        if not hasattr(td.Tensor, "transpose"):
            pytest.skip("non-contiguous views need Tensor.transpose (shape family)")
        s = list(shape)
        s[-1], s[-2] = s[-2], s[-1]
        a, r = pair(ref, data(s, dtype, seed), dtype)
        return a.transpose(-1, -2), r.transpose(-1, -2)
    if layout == "expanded":
        if not hasattr(td.Tensor, "expand"):
            pytest.skip("broadcast views need Tensor.expand (shape family)")
        a, r = pair(ref, data((1,) + tuple(shape[1:]), dtype, seed), dtype)
        return a.expand(*shape), r.expand(*shape)
    raise AssertionError(layout)


LAYOUTS = ["contiguous", "transposed"]
MM_SHAPES = [(3, 4, 5), (1, 7, 1), (0, 3, 2), (2, 0, 3), (4, 3, 0), (17, 33, 9)]


@pytest.mark.parametrize("dtype", PRODUCT_DTYPES)
@pytest.mark.parametrize("n,k,m", MM_SHAPES)
@pytest.mark.parametrize("la,lb", [("contiguous", "contiguous"), ("transposed", "contiguous"),
                                   ("contiguous", "transposed"), ("transposed", "transposed")])
def test_mm_matches_torch(ref, dtype, n, k, m, la, lb):
    a, ra = make(ref, (n, k), dtype, 0, la)
    b, rb = make(ref, (k, m), dtype, 1, lb)
    assert_same(td.mm(a, b), ref.mm(ra, rb), **tol(dtype))
    assert_same(a.mm(b), ra.mm(rb), **tol(dtype))


@pytest.mark.parametrize("dtype", PRODUCT_DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 1, 1, 1), (0, 2, 3, 4), (3, 2, 0, 4), (2, 5, 7, 0)])
@pytest.mark.parametrize("layout", LAYOUTS + ["expanded"])
def test_bmm_matches_torch(ref, dtype, shape, layout):
    bs, n, k, m = shape
    a, ra = make(ref, (bs, n, k), dtype, 0, layout)
    b, rb = make(ref, (bs, k, m), dtype, 1)
    assert_same(td.bmm(a, b), ref.bmm(ra, rb), **tol(dtype))


@pytest.mark.parametrize("dtype", PRODUCT_DTYPES)
@pytest.mark.parametrize("n,k", [(3, 4), (1, 1), (0, 3), (3, 0), (40, 70)])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_mv_and_dot_match_torch(ref, dtype, n, k, layout):
    a, ra = make(ref, (n, k), dtype, 0, layout)
    v, rv = make(ref, (k,), dtype, 1)
    assert_same(td.mv(a, v), ref.mv(ra, rv), **tol(dtype))
    w, rw = make(ref, (k,), dtype, 2)
    got, want = td.dot(v, w), ref.dot(rv, rw)
    if dtype == "bfloat16":  # the client cannot fetch a 0-d bfloat16 yet: compare as [1]
        got, want = got.reshape(1), want.reshape(1)
    assert_same(got, want, **tol(dtype))
    assert_same(v.dot(w), rv.dot(rw), **tol(dtype)) if dtype != "bfloat16" else None


@pytest.mark.parametrize("da,db", [("float32", "float32"), ("int64", "float32"), ("int32", "int64"),
                                   ("bool", "bool"), ("float64", "bfloat16"), ("uint8", "int8")])
@pytest.mark.parametrize("n,m", [(3, 4), (0, 2), (1, 1)])
def test_outer_and_ger_promote_like_torch(ref, da, db, n, m):
    a, ra = pair(ref, data((n,), da if da != "bool" else "int64", 0) % 2 if da == "bool" else data((n,), da, 0), da)
    b, rb = pair(ref, data((m,), db if db != "bool" else "int64", 1) % 2 if db == "bool" else data((m,), db, 1), db)
    assert_same(td.outer(a, b), ref.outer(ra, rb), **tol("bfloat16"))
    assert_same(a.ger(b), ra.ger(rb), **tol("bfloat16"))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bfloat16"])
@pytest.mark.parametrize("self_shape", [(3, 5), (5,), (3, 1), (1,), ()])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2), (0, 1), (2, 0)])
def test_addmm_broadcasts_self_and_scales(ref, dtype, self_shape, beta, alpha):
    if dtype == "int64":
        beta, alpha = int(beta), int(alpha)
    s, rs = make(ref, self_shape, dtype, 3)
    a, ra = make(ref, (3, 4), dtype, 0)
    b, rb = make(ref, (4, 5), dtype, 1)
    assert_same(td.addmm(s, a, b, beta=beta, alpha=alpha),
                ref.addmm(rs, ra, rb, beta=beta, alpha=alpha), **tol(dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("self_shape", [(2, 3, 5), (3, 5), (5,), (2, 1, 1), ()])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2), (0, 3)])
def test_baddbmm_and_addmv(ref, dtype, self_shape, beta, alpha):
    if dtype == "int32":
        beta, alpha = int(beta), int(alpha)
    s, rs = make(ref, self_shape, dtype, 3)
    a, ra = make(ref, (2, 3, 4), dtype, 0)
    b, rb = make(ref, (2, 4, 5), dtype, 1)
    # torch 1.13's baddbmm with beta=0 sometimes leaves NaN from uninitialised
    # memory in its result, so the reference for beta=0 is alpha * bmm.
    want = (ref.baddbmm(rs, ra, rb, beta=beta, alpha=alpha) if beta != 0
            else (alpha * ref.bmm(ra, rb)).expand(ref.broadcast_shapes(rs.shape, (2, 3, 5))).contiguous())
    assert_same(td.baddbmm(s, a, b, beta=beta, alpha=alpha), want, **tol(dtype))
    m, rm = make(ref, (5, 4), dtype, 4)
    v, rv = make(ref, (4,), dtype, 5)
    s1, rs1 = make(ref, self_shape[-1:], dtype, 6)
    assert_same(td.addmv(s1, m, v, beta=beta, alpha=alpha),
                ref.addmv(rs1, rm, rv, beta=beta, alpha=alpha), **tol(dtype))


def test_beta_zero_ignores_nan_in_self(ref):
    s = td.full((2, 2), float("nan"))
    a, b = td.ones(2, 3), td.ones(3, 2)
    assert td.addmm(s, a, b, beta=0).tolist() == [[3.0, 3.0], [3.0, 3.0]]
    assert td.addmm(s, a, b, beta=0).dtype is td.float32
    d = td.full((2, 2), float("nan"), dtype=td.float64)
    assert td.addmm(d, a.double(), b.double(), beta=0).tolist() == [[3.0, 3.0], [3.0, 3.0]]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                                   ((5, 2, 3), (3, 4)), ((2, 1, 2, 3), (5, 3, 4)), ((4,), (2, 4, 3)),
                                   ((2, 3, 4), (4,)), ((0, 2, 3), (3, 2)), ((2, 0), (0, 3))])
def test_matmul_broadcasts_batch_dims(ref, dtype, sa, sb):
    a, ra = make(ref, sa, dtype, 0)
    b, rb = make(ref, sb, dtype, 1)
    assert_same(td.matmul(a, b), ref.matmul(ra, rb), **tol(dtype))
    assert_same(a @ b, ra @ rb, **tol(dtype))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_matmul_non_contiguous_batches(ref, layout):
    a, ra = make(ref, (2, 3, 5, 4), "float32", 0, layout)
    b, rb = make(ref, (3, 4, 2), "float64", 1)
    b, rb = b.float(), rb.float()
    assert_same(a @ b, ra @ rb)


EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bij,bjk->bik", [(1, 3, 4), (3, 4, 2)]),  # batch label broadcasts
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("ij->ji", [(3, 5)]),
    ("ij", [(3, 5)]),
    ("ba", [(3, 5)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,j", [(3,), (4,)]),
    ("i,i->", [(6,), (6,)]),
    ("i,i->i", [(6,), (1,)]),
    ("...->", [(2, 3)]),
    ("...", [()]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("...ij->...ji", [(2, 3, 4)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]),
    ("i...->...", [(2, 3, 4)]),
    ("i...->i", [(2, 3, 4)]),
    ("...i,...i->...", [(2, 3), (3,)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ij,kj->ikj", [(2, 3), (1, 3)]),
    ("ij,jk->i", [(2, 3), (3, 4)]),
    ("iij,jk->ik", [(3, 3, 4), (4, 2)]),
    ("Ab,bc->Ac", [(2, 3), (3, 2)]),
    ("i j , j k -> i k", [(2, 3), (3, 2)]),
    ("ij,jk->ik", [(0, 3), (3, 2)]),
    ("ij,jk->ik", [(2, 0), (0, 3)]),
    ("i->", [(0,)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_einsum_matches_torch(ref, eq, shapes, dtype):
    ops = [make(ref, s, dtype, i) for i, s in enumerate(shapes)]
    got = td.einsum(eq, *[o[0] for o in ops])
    want = ref.einsum(eq, *[o[1] for o in ops])
    assert_same(got, want, **tol(dtype))
    assert_same(td.einsum(eq, [o[0] for o in ops]), want, **tol(dtype))


@pytest.mark.parametrize("eq,shapes", [("ij,jk->ik", [(3, 4), (4, 5)]), ("ij->ji", [(4, 3)]),
                                       ("ii->i", [(3, 3)]), ("bij,bkj->bik", [(2, 3, 4), (2, 5, 4)])])
def test_einsum_non_contiguous_operands(ref, eq, shapes):
    ops = [make(ref, s, "float32", i, "transposed") for i, s in enumerate(shapes)]
    assert_same(td.einsum(eq, *[o[0] for o in ops]), ref.einsum(eq, *[o[1] for o in ops]))


@pytest.mark.parametrize("eq", ["ij->", "ij->ji", "ii->i", "i,j->ij"])
@pytest.mark.parametrize("dtype", ["bool", "int32", "float16"])
def test_einsum_single_operand_dtypes(ref, eq, dtype):
    shapes = [(3, 3)] if "," not in eq else [(3,), (2,)]
    ops = [pair(ref, data(s, "int64", i) % 2, dtype) for i, s in enumerate(shapes)]
    assert_same(td.einsum(eq, *[o[0] for o in ops]), ref.einsum(eq, *[o[1] for o in ops]))


ERRORS = [
    (lambda m: m.mm(m.ones(2, 3), m.ones(4, 5)), r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    (lambda m: m.mm(m.ones(3), m.ones(3, 2)), "self must be a matrix"),
    (lambda m: m.mm(m.ones(2, 3), m.ones(3)), "mat2 must be a matrix"),
    (lambda m: m.mm(m.ones(2, 3), m.ones(3, 2, dtype=m.float64)), "expected scalar type Float but found Double"),
    (lambda m: m.mm(m.ones(2, 3, dtype=m.float16), m.ones(3, 2, dtype=m.float16)), "not implemented for 'Half'"),
    (lambda m: m.mm(m.ones(2, 3, dtype=m.bool), m.ones(3, 2, dtype=m.bool)), "not implemented for 'Bool'"),
    (lambda m: m.bmm(m.ones(2, 3), m.ones(2, 3)), "batch1 must be a 3D tensor"),
    (lambda m: m.bmm(m.ones(2, 3, 4), m.ones(3, 4, 5)),
     r"Expected size for first two dimensions of batch2 tensor to be: \[2, 4\] but got: \[3, 4\]"),
    (lambda m: m.dot(m.ones(2, 3), m.ones(2, 3)), "1D tensors expected, but got 2D and 2D tensors"),
    (lambda m: m.dot(m.ones(3), m.ones(4)), "inconsistent tensor size"),
    (lambda m: m.dot(m.ones(3), m.ones(3, dtype=m.float64)), "expected both vectors to have same dtype"),
    (lambda m: m.mv(m.ones(2, 3), m.ones(4)), "size mismatch, got 2, 2x3,4"),
    (lambda m: m.mv(m.ones(2, 3), m.ones(2, 3)), "vector \\+ matrix @ vector expected, got 1, 2, 2"),
    (lambda m: m.outer(m.ones(2, 3), m.ones(3)), "outer: Expected 1-D argument self, but got 2-D"),
    (lambda m: m.addmm(m.ones(3), m.ones(2, 3), m.ones(3, 2)),
     r"The expanded size of the tensor \(2\) must match the existing size \(3\)"),
    (lambda m: m.addmm(m.ones(2, dtype=m.float64), m.ones(2, 3), m.ones(3, 2)), "self and mat2 must have the same dtype"),
    (lambda m: m.baddbmm(m.ones(4, 2, 3), m.ones(2, 2, 3), m.ones(2, 3, 3)), "expanded size"),
    (lambda m: m.matmul(m.ones(2, 3, dtype=m.float16), m.ones(3, 2, dtype=m.float16)), "not implemented for 'Half'"),
    (lambda m: m.einsum("ij,jk", m.ones(2, 3), m.ones(4, 5)),
     "subscript j has size 4 for operand 1 which does not broadcast with previously seen size 3"),
    (lambda m: m.einsum("ij->k", m.ones(2, 3)), "output subscript k does not appear in the equation"),
    (lambda m: m.einsum("ij->ii", m.ones(2, 3)), "output subscript i appears more than once"),
    (lambda m: m.einsum("ij", m.ones(2, 3), m.ones(2, 3)), "more operands were provided"),
    (lambda m: m.einsum("ij,jk->ik", m.ones(2, 3)), "fewer operands were provided"),
    (lambda m: m.einsum("ijk", m.ones(2, 3)), r"number of subscripts in the equation \(3\) does not match"),
    (lambda m: m.einsum("ii->i", m.ones(2, 3)), "subscript i is repeated for operand 0 but the sizes don't match"),
    (lambda m: m.einsum("i1,jk->ik", m.ones(2, 3), m.ones(3, 2)), "invalid subscript given at index 1"),
    (lambda m: m.einsum("i..,j->ij", m.ones(2), m.ones(3)), "that is not part of any ellipsis"),
    (lambda m: m.einsum("ij,jk->ik", m.ones(2, 3), m.ones(3, 2, dtype=m.float64)),
     "expected scalar type Float but found Double"),
    (lambda m: m.einsum("ij,jk->ik", m.ones(2, 3, dtype=m.bool), m.ones(3, 2, dtype=m.bool)),
     "not implemented for 'Bool'"),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_torch(ref, i):
    fn, msg = ERRORS[i]
    with pytest.raises(RuntimeError, match=msg):
        fn(ref)
    with pytest.raises(RuntimeError, match=msg):
        fn(td)
