//! `toongan::backend::FastCpu` (Flex with toongan's convolutions): every overridden op,
//! forward and each gradient, against Flex's own result and against float64 loops written
//! from the definitions, on the kernel shapes the models use (1x1, 3x3 s1/s2, 4x4 s2,
//! 7x7, transposed 3x3 s2 p1 op1), batch 2; the kernels' row chunking; the fallback to Flex
//! for dilation and groups; and the gradients of a small conv net under autodiff.
//!
//! Run in release mode: `cargo test --release --test fast_cpu`.

mod common;
use common::rel_err;

use burn::backend::Autodiff;
use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Tensor, TensorData};
use burn_backend::TensorMetadata;
use burn_backend::ops::{FloatTensorOps, ModuleOps};
use burn_flex::{Flex, FlexTensor};
use toongan::backend::FastCpu;
use toongan::kernels::conv::{self, ConvGeom};

/// Deterministic values in [-1, 1) (xorshift), so failures reproduce.
fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn flex(data: &[f32], shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data.to_vec(), shape.to_vec()))
}

fn values(t: FlexTensor) -> Vec<f32> {
    t.into_data().to_vec::<f32>().unwrap()
}

fn to64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// A convolution case: input N×C×h×w, kernel K×C×kh×kw, stride, padding.
#[derive(Clone, Copy, Debug)]
struct Case {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    kh: usize,
    kw: usize,
    s: [usize; 2],
    p: [usize; 2],
}

const CONV_CASES: &[Case] = &[
    // 1x1 (the fast path without im2col).
    Case {
        n: 2,
        c: 7,
        h: 9,
        w: 11,
        k: 5,
        kh: 1,
        kw: 1,
        s: [1, 1],
        p: [0, 0],
    },
    // 3x3 stride 1, zero padding 1 and none (reflect-padded input).
    Case {
        n: 2,
        c: 6,
        h: 12,
        w: 10,
        k: 8,
        kh: 3,
        kw: 3,
        s: [1, 1],
        p: [1, 1],
    },
    Case {
        n: 2,
        c: 4,
        h: 9,
        w: 9,
        k: 3,
        kh: 3,
        kw: 3,
        s: [1, 1],
        p: [0, 0],
    },
    // 3x3 stride 2 padding 1 (down-sampling), odd and even sizes.
    Case {
        n: 2,
        c: 5,
        h: 13,
        w: 10,
        k: 6,
        kh: 3,
        kw: 3,
        s: [2, 2],
        p: [1, 1],
    },
    // 4x4 stride 2 padding 1 (PatchGAN).
    Case {
        n: 2,
        c: 3,
        h: 16,
        w: 14,
        k: 4,
        kh: 4,
        kw: 4,
        s: [2, 2],
        p: [1, 1],
    },
    // 7x7, unpadded (reflect-padded input) and zero-padded 3; 3 output channels.
    Case {
        n: 2,
        c: 4,
        h: 14,
        w: 13,
        k: 3,
        kh: 7,
        kw: 7,
        s: [1, 1],
        p: [0, 0],
    },
    Case {
        n: 2,
        c: 3,
        h: 10,
        w: 12,
        k: 5,
        kh: 7,
        kw: 7,
        s: [1, 1],
        p: [3, 3],
    },
    // Uneven stride and padding, one output channel.
    Case {
        n: 2,
        c: 3,
        h: 11,
        w: 9,
        k: 1,
        kh: 3,
        kw: 2,
        s: [2, 1],
        p: [0, 1],
    },
];

impl Case {
    fn geom(&self) -> ConvGeom {
        ConvGeom::new([self.c, self.h, self.w], [self.kh, self.kw], self.s, self.p).unwrap()
    }
    fn options(&self) -> ConvOptions<2> {
        ConvOptions::new(self.s, self.p, [1, 1], 1)
    }
    /// Calls `f(n, c, y, x, k, oy, ox, ky, kx)` for every input/output/tap triple that
    /// the convolution multiplies (zero padding contributes nothing).
    fn for_each(&self, mut f: impl FnMut([usize; 9])) {
        let g = self.geom();
        for n in 0..self.n {
            for k in 0..self.k {
                for oy in 0..g.ho {
                    for ox in 0..g.wo {
                        for c in 0..self.c {
                            for ky in 0..self.kh {
                                for kx in 0..self.kw {
                                    let y = (oy * self.s[0] + ky) as isize - self.p[0] as isize;
                                    let x = (ox * self.s[1] + kx) as isize - self.p[1] as isize;
                                    if (0..self.h as isize).contains(&y)
                                        && (0..self.w as isize).contains(&x)
                                    {
                                        f([n, c, y as usize, x as usize, k, oy, ox, ky, kx]);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Float64 forward, data gradient, weight gradient and bias gradient from the definition.
struct Reference {
    out: Vec<f64>,
    dx: Vec<f64>,
    dw: Vec<f64>,
    db: Vec<f64>,
}

fn reference(cs: &Case, x: &[f32], w: &[f32], b: &[f32], grad: &[f32]) -> Reference {
    let g = cs.geom();
    let xi = |n, c, y, xx| ((n * cs.c + c) * cs.h + y) * cs.w + xx;
    let wi = |k, c, ky, kx| ((k * cs.c + c) * cs.kh + ky) * cs.kw + kx;
    let oi = |n, k, oy, ox| ((n * cs.k + k) * g.ho + oy) * g.wo + ox;
    let mut out = vec![0.0f64; cs.n * cs.k * g.ho * g.wo];
    for (i, o) in out.iter_mut().enumerate() {
        *o = b[(i / (g.ho * g.wo)) % cs.k] as f64;
    }
    let mut dx = vec![0.0f64; x.len()];
    let mut dw = vec![0.0f64; w.len()];
    cs.for_each(|[n, c, y, xx, k, oy, ox, ky, kx]| {
        let (ii, wj, oj) = (xi(n, c, y, xx), wi(k, c, ky, kx), oi(n, k, oy, ox));
        out[oj] += w[wj] as f64 * x[ii] as f64;
        dx[ii] += grad[oj] as f64 * w[wj] as f64;
        dw[wj] += grad[oj] as f64 * x[ii] as f64;
    });
    let mut db = vec![0.0f64; cs.k];
    for (i, v) in grad.iter().enumerate() {
        db[(i / (g.ho * g.wo)) % cs.k] += *v as f64;
    }
    Reference { out, dx, dw, db }
}

const TOL: f64 = 1e-5;

#[test]
fn conv2d_and_its_gradients_match_flex_and_float64() {
    for (i, cs) in CONV_CASES.iter().enumerate() {
        let g = cs.geom();
        let seed = 100 * i as u64;
        let x = random(cs.n * cs.c * cs.h * cs.w, seed + 1);
        let w = random(cs.k * cs.c * cs.kh * cs.kw, seed + 2);
        let b = random(cs.k, seed + 3);
        let grad = random(cs.n * cs.k * g.ho * g.wo, seed + 4);
        let r = reference(cs, &x, &w, &b, &grad);
        let (xs, ws, gs) = (
            [cs.n, cs.c, cs.h, cs.w],
            [cs.k, cs.c, cs.kh, cs.kw],
            [cs.n, cs.k, g.ho, g.wo],
        );
        let (tx, tw, tb, tg) = (
            flex(&x, &xs),
            flex(&w, &ws),
            flex(&b, &[cs.k]),
            flex(&grad, &gs),
        );
        let o = cs.options();
        type F = FastCpu;
        let ours = [
            values(F::conv2d(
                tx.clone(),
                tw.clone(),
                Some(tb.clone()),
                o.clone(),
            )),
            values(F::conv2d_x_backward(
                tx.clone(),
                tw.clone(),
                tg.clone(),
                o.clone(),
            )),
            values(F::conv2d_weight_backward(
                tx.clone(),
                tw.clone(),
                tg.clone(),
                o.clone(),
            )),
            values(F::conv2d_bias_backward(tx.clone(), tb.clone(), tg.clone())),
        ];
        let flexs = [
            values(Flex::conv2d(
                tx.clone(),
                tw.clone(),
                Some(tb.clone()),
                o.clone(),
            )),
            values(Flex::conv2d_x_backward(
                tx.clone(),
                tw.clone(),
                tg.clone(),
                o.clone(),
            )),
            values(Flex::conv2d_weight_backward(
                tx.clone(),
                tw.clone(),
                tg.clone(),
                o.clone(),
            )),
            values(Flex::conv2d_bias_backward(tx, tb, tg)),
        ];
        let refs = [&r.out, &r.dx, &r.dw, &r.db];
        for (j, name) in ["forward", "x grad", "weight grad", "bias grad"]
            .iter()
            .enumerate()
        {
            let e = rel_err(&ours[j], refs[j]);
            assert!(e < TOL, "case {i} {cs:?} {name}: rel err {e:e} vs float64");
            let e = rel_err(&ours[j], &to64(&flexs[j]));
            assert!(e < TOL, "case {i} {cs:?} {name}: rel err {e:e} vs Flex");
        }
    }
}

/// A transposed-convolution case: input N×C_in×h×w, weight C_in×C_out×k×k.
#[derive(Clone, Copy, Debug)]
struct TCase {
    n: usize,
    ci: usize,
    co: usize,
    h: usize,
    w: usize,
    ks: usize,
    s: usize,
    p: usize,
    op: usize,
}

const TRANSPOSED_CASES: &[TCase] = &[
    // The generator's up-sampling: 3x3 stride 2 padding 1 output padding 1.
    TCase {
        n: 2,
        ci: 6,
        co: 4,
        h: 7,
        w: 9,
        ks: 3,
        s: 2,
        p: 1,
        op: 1,
    },
    TCase {
        n: 2,
        ci: 3,
        co: 5,
        h: 8,
        w: 5,
        ks: 4,
        s: 2,
        p: 1,
        op: 0,
    },
    TCase {
        n: 2,
        ci: 4,
        co: 3,
        h: 6,
        w: 6,
        ks: 3,
        s: 1,
        p: 1,
        op: 0,
    },
    TCase {
        n: 2,
        ci: 5,
        co: 2,
        h: 5,
        w: 4,
        ks: 1,
        s: 1,
        p: 0,
        op: 0,
    },
];

#[test]
fn conv_transpose2d_and_its_gradients_match_flex_and_float64() {
    for (i, t) in TRANSPOSED_CASES.iter().enumerate() {
        let ho = (t.h - 1) * t.s + t.ks + t.op - 2 * t.p;
        let wo = (t.w - 1) * t.s + t.ks + t.op - 2 * t.p;
        let seed = 1000 + 100 * i as u64;
        let x = random(t.n * t.ci * t.h * t.w, seed + 1);
        let w = random(t.ci * t.co * t.ks * t.ks, seed + 2);
        let b = random(t.co, seed + 3);
        let grad = random(t.n * t.co * ho * wo, seed + 4);
        // Float64 from the definition: out[oy][ox] gets x[iy][ix]·w[ky][kx] where
        // oy = s·iy + ky - p.
        let mut out = vec![0.0f64; grad.len()];
        for (j, o) in out.iter_mut().enumerate() {
            *o = b[(j / (ho * wo)) % t.co] as f64;
        }
        let mut dx = vec![0.0f64; x.len()];
        let mut dw = vec![0.0f64; w.len()];
        for n in 0..t.n {
            for ci in 0..t.ci {
                for iy in 0..t.h {
                    for ix in 0..t.w {
                        for co in 0..t.co {
                            for ky in 0..t.ks {
                                for kx in 0..t.ks {
                                    let oy = (t.s * iy + ky) as isize - t.p as isize;
                                    let ox = (t.s * ix + kx) as isize - t.p as isize;
                                    if !(0..ho as isize).contains(&oy)
                                        || !(0..wo as isize).contains(&ox)
                                    {
                                        continue;
                                    }
                                    let xi = ((n * t.ci + ci) * t.h + iy) * t.w + ix;
                                    let wi = ((ci * t.co + co) * t.ks + ky) * t.ks + kx;
                                    let oi =
                                        ((n * t.co + co) * ho + oy as usize) * wo + ox as usize;
                                    out[oi] += x[xi] as f64 * w[wi] as f64;
                                    dx[xi] += grad[oi] as f64 * w[wi] as f64;
                                    dw[wi] += grad[oi] as f64 * x[xi] as f64;
                                }
                            }
                        }
                    }
                }
            }
        }
        let mut db = vec![0.0f64; t.co];
        for (j, v) in grad.iter().enumerate() {
            db[(j / (ho * wo)) % t.co] += *v as f64;
        }
        let tx = flex(&x, &[t.n, t.ci, t.h, t.w]);
        let tw = flex(&w, &[t.ci, t.co, t.ks, t.ks]);
        let tb = flex(&b, &[t.co]);
        let tg = flex(&grad, &[t.n, t.co, ho, wo]);
        let o = ConvTransposeOptions::new([t.s; 2], [t.p; 2], [t.op; 2], [1, 1], 1);
        type F = FastCpu;
        let ours = [
            values(F::conv_transpose2d(
                tx.clone(),
                tw.clone(),
                Some(tb.clone()),
                o.clone(),
            )),
            values(F::conv_transpose2d_x_backward(
                tw.clone(),
                tg.clone(),
                o.clone(),
            )),
            values(F::conv_transpose2d_weight_backward(
                tx.clone(),
                tw.clone(),
                tg.clone(),
                o.clone(),
            )),
            values(F::conv_transpose2d_bias_backward(
                tx.clone(),
                tb.clone(),
                tg.clone(),
            )),
        ];
        let flexs = [
            values(Flex::conv_transpose2d(
                tx.clone(),
                tw.clone(),
                Some(tb.clone()),
                o.clone(),
            )),
            values(Flex::conv_transpose2d_x_backward(
                tw.clone(),
                tg.clone(),
                o.clone(),
            )),
            values(Flex::conv_transpose2d_weight_backward(
                tx.clone(),
                tw.clone(),
                tg.clone(),
                o.clone(),
            )),
            values(Flex::conv_transpose2d_bias_backward(tx, tb, tg)),
        ];
        let refs = [&out, &dx, &dw, &db];
        for (j, name) in ["forward", "x grad", "weight grad", "bias grad"]
            .iter()
            .enumerate()
        {
            let e = rel_err(&ours[j], refs[j]);
            assert!(e < TOL, "case {i} {t:?} {name}: rel err {e:e} vs float64");
            let e = rel_err(&ours[j], &to64(&flexs[j]));
            assert!(e < TOL, "case {i} {t:?} {name}: rel err {e:e} vs Flex");
        }
    }
}

#[test]
fn row_chunks_give_the_same_result_as_one_chunk() {
    for cs in CONV_CASES {
        let g = cs.geom();
        let x = random(cs.n * cs.c * cs.h * cs.w, 7);
        let w = random(cs.k * cs.c * cs.kh * cs.kw, 8);
        let b = random(cs.k, 9);
        let grad = random(cs.n * cs.k * g.ho * g.wo, 10);
        let run = |chunk: usize| {
            let mut out = vec![0.0f32; grad.len()];
            let mut dx = vec![0.0f32; x.len()];
            let mut dw = vec![0.0f32; w.len()];
            conv::forward(&x, &g, &w, Some(&b), &mut out, chunk);
            conv::data_grad(&grad, &g, &w, &mut dx, chunk);
            conv::weight_grad(&x, &grad, &g, &mut dw, chunk);
            [out, dx, dw]
        };
        // One output row per chunk against the whole image in one chunk.
        let (small, big) = (run(1), run(1 << 30));
        for (a, b) in small.iter().zip(&big) {
            let e = rel_err(a, &to64(b));
            assert!(e < TOL, "{cs:?}: chunked vs whole rel err {e:e}");
        }
    }
}

#[test]
fn dilation_and_groups_fall_back_to_flex() {
    let x = flex(&random(2 * 4 * 9 * 9, 1), &[2, 4, 9, 9]);
    let w = flex(&random(6 * 2 * 3 * 3, 2), &[6, 2, 3, 3]);
    let grouped = ConvOptions::new([1, 1], [1, 1], [1, 1], 2);
    assert_eq!(
        values(FastCpu::conv2d(x.clone(), w.clone(), None, grouped.clone())),
        values(Flex::conv2d(x.clone(), w.clone(), None, grouped))
    );
    let w = flex(&random(6 * 4 * 3 * 3, 3), &[6, 4, 3, 3]);
    let dilated = ConvOptions::new([1, 1], [2, 2], [2, 2], 1);
    let g = flex(&random(2 * 6 * 9 * 9, 4), &[2, 6, 9, 9]);
    assert_eq!(
        values(FastCpu::conv2d_weight_backward(
            x.clone(),
            w.clone(),
            g.clone(),
            dilated.clone()
        )),
        values(Flex::conv2d_weight_backward(x, w, g, dilated))
    );
}

/// Gradients of every input and parameter of a small net (conv 3x3 → conv 3x3 s2 →
/// transposed 3x3 s2 p1 op1 → conv 1x1, ReLU between, batch 2) under autodiff.
fn net_grads<B: burn::tensor::backend::AutodiffBackend>() -> Vec<Vec<f32>> {
    let device = Default::default();
    let t = |v: Vec<f32>, s: [usize; 4]| {
        Tensor::<B, 4>::from_data(TensorData::new(v, s), &device).require_grad()
    };
    let t1 = |v: Vec<f32>, n: usize| {
        Tensor::<B, 1>::from_data(TensorData::new(v, [n]), &device).require_grad()
    };
    let x = t(random(2 * 3 * 12 * 12, 1), [2, 3, 12, 12]);
    let w1 = t(random(8 * 3 * 9, 2), [8, 3, 3, 3]);
    let b1 = t1(random(8, 3), 8);
    let w2 = t(random(16 * 8 * 9, 4), [16, 8, 3, 3]);
    let w3 = t(random(16 * 8 * 9, 5), [16, 8, 3, 3]);
    let b3 = t1(random(8, 6), 8);
    let w4 = t(random(2 * 8, 7), [2, 8, 1, 1]);
    let h = conv2d(
        x.clone(),
        w1.clone(),
        Some(b1.clone()),
        ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
    );
    let h = burn::tensor::activation::relu(h);
    let h = conv2d(
        h,
        w2.clone(),
        None,
        ConvOptions::new([2, 2], [1, 1], [1, 1], 1),
    );
    let h = burn::tensor::activation::relu(h);
    let h = conv_transpose2d(
        h,
        w3.clone(),
        Some(b3.clone()),
        ConvTransposeOptions::new([2, 2], [1, 1], [1, 1], [1, 1], 1),
    );
    let h = conv2d(
        h,
        w4.clone(),
        None,
        ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
    );
    let target = Tensor::<B, 4>::from_data(
        TensorData::new(random(2 * 2 * 12 * 12, 8), [2, 2, 12, 12]),
        &device,
    );
    let loss = (h * target).sum();
    let grads = loss.backward();
    let g4 = |p: &Tensor<B, 4>| p.grad(&grads).unwrap().into_data().to_vec::<f32>().unwrap();
    let g1 = |p: &Tensor<B, 1>| p.grad(&grads).unwrap().into_data().to_vec::<f32>().unwrap();
    vec![g4(&x), g4(&w1), g1(&b1), g4(&w2), g4(&w3), g1(&b3), g4(&w4)]
}

#[test]
fn autodiff_gradients_of_a_conv_net_match_flex() {
    let ours = net_grads::<Autodiff<FastCpu>>();
    let theirs = net_grads::<Autodiff<Flex>>();
    let names = ["x", "w1", "b1", "w2", "w3", "b3", "w4"];
    for ((a, b), name) in ours.iter().zip(&theirs).zip(names) {
        let e = rel_err(a, &to64(b));
        assert!(e < TOL, "gradient of {name}: rel err {e:e} vs Flex");
    }
}

/// A backend's f32 binary op on Flex tensors.
type BinaryOp = fn(FlexTensor, FlexTensor) -> FlexTensor;

#[test]
fn strided_and_broadcast_arithmetic_matches_flex() {
    let a = flex(&random(2 * 3 * 4 * 5, 1), &[2, 3, 4, 5]);
    let a2 = flex(&random(2 * 3 * 4 * 5, 2), &[2, 3, 4, 5]);
    let t = flex(&random(3 * 2 * 4 * 5, 3), &[3, 2, 4, 5]);
    let per_channel = flex(&random(3, 4), &[1, 3, 1, 1]);
    let per_row = flex(&random(2 * 4, 5), &[2, 1, 4, 1]);
    let big = flex(&random(2 * 3 * 40 * 50, 6), &[2, 3, 40, 50]);
    let big_t = flex(&random(3 * 2 * 40 * 50, 7), &[3, 2, 40, 50]).transpose(0, 1);
    let pairs = [
        (a.clone(), per_channel.clone()),
        (per_channel.clone(), a.clone()),
        (a.clone(), per_row.clone()),
        (a.transpose(0, 1), a2.transpose(0, 1)),
        (a.transpose(0, 1), t.clone()),
        (t.clone(), a.transpose(0, 1)),
        (a.transpose(2, 3), a2.transpose(2, 3)),
        (big.clone(), big_t.clone()),
        (big_t, per_channel),
        (a.clone(), a2.clone()),
    ];
    for (i, (x, y)) in pairs.into_iter().enumerate() {
        let ops: [(BinaryOp, BinaryOp); 4] = [
            (FastCpu::float_add, Flex::float_add),
            (FastCpu::float_sub, Flex::float_sub),
            (FastCpu::float_mul, Flex::float_mul),
            (FastCpu::float_div, Flex::float_div),
        ];
        for (j, (ours, theirs)) in ops.into_iter().enumerate() {
            let (o, f) = (ours(x.clone(), y.clone()), theirs(x.clone(), y.clone()));
            assert_eq!(o.shape(), f.shape(), "pair {i} op {j}: shape");
            assert_eq!(values(o), values(f), "pair {i} op {j}: values");
        }
    }
}

#[test]
fn convolution_of_a_strided_input_matches_its_contiguous_copy() {
    let x = flex(&random(5 * 2 * 9 * 9, 1), &[5, 2, 9, 9]).transpose(0, 1);
    let w = flex(&random(3 * 5 * 9, 2), &[3, 5, 3, 3]);
    let o = ConvOptions::new([2, 2], [1, 1], [1, 1], 1);
    let dense = flex(&values(x.clone()), &[2, 5, 9, 9]);
    assert_eq!(
        values(FastCpu::conv2d(x, w.clone(), None, o.clone())),
        values(FastCpu::conv2d(dense, w, None, o))
    );
}

/// 3x3 stride-1 convolutions with ≥ 32 channels and ≥ 64² output pixels take Winograd
/// F(4x4, 3x3) for the forward pass and both gradients: zero padding 0 (the generator's
/// convolutions after an explicit pad), 1 (VGG19, the discriminator) and 2, sizes that are
/// not multiples of the 4x4 tile, batch 2.
#[test]
fn winograd_convolutions_match_float64_and_im2col() {
    let cases = [
        (66, 67, 0, 32, 40),
        (64, 66, 1, 40, 32),
        (62, 63, 2, 32, 32),
    ];
    for (i, &(h, w, p, c, k)) in cases.iter().enumerate() {
        let cs = Case {
            n: 2,
            c,
            h,
            w,
            k,
            kh: 3,
            kw: 3,
            s: [1, 1],
            p: [p, p],
        };
        let g = cs.geom();
        assert!(g.ho * g.wo >= 64 * 64, "case {i} too small for Winograd");
        let seed = 900 + 10 * i as u64;
        let x = random(cs.n * c * h * w, seed);
        let wt = random(k * c * 9, seed + 1);
        let b = random(k, seed + 2);
        let grad = random(cs.n * k * g.ho * g.wo, seed + 3);
        let r = reference(&cs, &x, &wt, &b, &grad);
        let (tx, tw, tb, tg) = (
            flex(&x, &[cs.n, c, h, w]),
            flex(&wt, &[k, c, 3, 3]),
            flex(&b, &[k]),
            flex(&grad, &[cs.n, k, g.ho, g.wo]),
        );
        let o = cs.options();
        let out = values(FastCpu::conv2d(tx.clone(), tw.clone(), Some(tb), o.clone()));
        let dx = values(FastCpu::conv2d_x_backward(
            tx.clone(),
            tw.clone(),
            tg.clone(),
            o.clone(),
        ));
        let dw = values(FastCpu::conv2d_weight_backward(tx, tw, tg, o));
        let mut im_out = vec![0.0f32; out.len()];
        let mut im_dx = vec![0.0f32; dx.len()];
        let mut im_dw = vec![0.0f32; dw.len()];
        conv::forward(
            &x,
            &g,
            &wt,
            Some(&b),
            &mut im_out,
            toongan::kernels::CHUNK_BYTES,
        );
        conv::data_grad(&grad, &g, &wt, &mut im_dx, toongan::kernels::CHUNK_BYTES);
        conv::weight_grad(&x, &grad, &g, &mut im_dw, toongan::kernels::CHUNK_BYTES);
        for (name, ours, im2col, want) in [
            ("forward", &out, &im_out, &r.out),
            ("x grad", &dx, &im_dx, &r.dx),
            ("weight grad", &dw, &im_dw, &r.dw),
        ] {
            // Measured: ~6e-6 against float64 (im2col: ~5e-7); F(4x4, 3x3) rounds its
            // larger transform-domain terms in f32.
            let e = rel_err(ours, want);
            assert!(e < TOL, "case {i} {cs:?} {name}: rel err {e:e} vs float64");
            let e = rel_err(ours, &to64(im2col));
            assert!(e < TOL, "case {i} {cs:?} {name}: rel err {e:e} vs im2col");
        }
    }
}

/// The Winograd weight gradient accumulates over chunks of tile rows and over the batch: one
/// tile row per chunk gives what one chunk for the whole image gives.
#[test]
fn winograd_weight_gradient_chunks_agree() {
    use toongan::kernels::{Pad, winograd};
    let (n, c, k, h, w) = (2, 5, 3, 13, 10);
    for p in [0, 1, 2] {
        let (oh, ow) = (h + 2 * p - 2, w + 2 * p - 2);
        let x = random(n * c * h * w, 40 + p as u64);
        let grad = random(n * k * oh * ow, 50 + p as u64);
        let run = |chunk: usize| {
            let mut dw = vec![f32::NAN; k * c * 9];
            let dims = [n, c, h, w];
            winograd::weight_grad(
                &x,
                &grad,
                dims,
                k,
                Pad::Zeros(p),
                &mut dw,
                chunk,
                &mut Vec::new(),
            );
            dw
        };
        let g = ConvGeom::new([c, h, w], [3, 3], [1, 1], [p, p]).unwrap();
        let mut want = vec![0.0f32; k * c * 9];
        conv::weight_grad(&x, &grad, &g, &mut want, toongan::kernels::CHUNK_BYTES);
        for chunk in [1, usize::MAX / 2] {
            let e = rel_err(&run(chunk), &to64(&want));
            assert!(e < TOL, "pad {p} chunk {chunk}: rel err {e:e} vs im2col");
        }
    }
}

// ============================================================================================
// Parallel element-wise ops (src/backend/fast_cpu/parallel_ops.rs): each against Flex, exact,
// on small (Flex fallback) and large (parallel) tensors, contiguous (uniquely owned, so
// updated in place, and shared), transposed and sliced.
// ============================================================================================

mod parallel_ops {
    use super::{flex, random, values};
    use burn_backend::ops::{ActivationOps, FloatTensorOps};
    use burn_backend::{DType, Scalar, TensorMetadata};
    use burn_flex::{Flex, FlexDevice, FlexTensor};
    use burn_std::{BoolDType, FloatDType, Shape, Slice};
    use toongan::backend::FastCpu;

    /// Large enough for several parallel chunks, with rows (131) that straddle chunk ends.
    const BIG: [usize; 4] = [2, 5, 97, 131];
    const SMALL: [usize; 4] = [2, 3, 4, 5];

    fn n(shape: &[usize]) -> usize {
        shape.iter().product()
    }

    fn bits(t: FlexTensor) -> Vec<u32> {
        values(t).iter().map(|v| v.to_bits()).collect()
    }

    /// Named inputs of one op: fresh on every call, so contiguous ones are uniquely owned.
    /// A named way to make a fresh input.
    type Input = (&'static str, Box<dyn Fn() -> FlexTensor>);

    /// An element transform applied to random inputs (to keep them in an op's domain).
    type Prep = fn(f32) -> f32;

    fn inputs(seed: u64, f: Prep) -> Vec<Input> {
        let data =
            |shape: &[usize], s| -> Vec<f32> { random(n(shape), s).into_iter().map(f).collect() };
        let (small, big) = (data(&SMALL, seed), data(&BIG, seed + 1));
        let bt = data(&[2, 5, 131, 97], seed + 2);
        let wide = data(&[2, 5, 97, 140], seed + 3);
        vec![
            ("small", Box::new(move || flex(&small, &SMALL))),
            (
                "big",
                Box::new({
                    let big = big.clone();
                    move || flex(&big, &BIG)
                }),
            ),
            (
                "big transposed",
                Box::new(move || flex(&bt, &[2, 5, 131, 97]).transpose(2, 3)),
            ),
            (
                "big sliced",
                Box::new(move || flex(&wide, &[2, 5, 97, 140]).narrow(3, 4, 131)),
            ),
        ]
    }

    type Map = fn(FlexTensor) -> FlexTensor;

    fn check_map(name: &str, ours: Map, theirs: Map, f: fn(f32) -> f32) {
        for (case, make) in inputs(11, f) {
            let expected = bits(theirs(make()));
            assert_eq!(bits(ours(make())), expected, "{name} {case} (unique)");
            let shared = make();
            let keep = shared.clone();
            assert_eq!(bits(ours(shared)), expected, "{name} {case} (shared)");
            assert_eq!(
                bits(keep),
                bits(make()),
                "{name} {case}: shared input modified"
            );
        }
    }

    #[test]
    fn unary_and_scalar_maps_match_flex() {
        let id: fn(f32) -> f32 = |x| x;
        let pos: fn(f32) -> f32 = |x| x.abs() + 0.01;
        let maps: [(&str, Map, Map, Prep); 7] = [
            ("neg", FastCpu::float_neg, Flex::float_neg, id),
            ("exp", FastCpu::float_exp, Flex::float_exp, id),
            ("log", FastCpu::float_log, Flex::float_log, pos),
            ("sqrt", FastCpu::float_sqrt, Flex::float_sqrt, pos),
            ("abs", FastCpu::float_abs, Flex::float_abs, id),
            ("tanh", FastCpu::float_tanh, Flex::float_tanh, id),
            (
                "relu",
                <FastCpu as ActivationOps<FastCpu>>::relu,
                <Flex as ActivationOps<Flex>>::relu,
                id,
            ),
        ];
        for (name, ours, theirs, f) in maps {
            check_map(name, ours, theirs, f);
        }
        let scalar: [(&str, Map, Map); 4] = [
            (
                "add_scalar",
                |t| FastCpu::float_add_scalar(t, Scalar::Float(0.3711)),
                |t| Flex::float_add_scalar(t, Scalar::Float(0.3711)),
            ),
            (
                "sub_scalar",
                |t| FastCpu::float_sub_scalar(t, Scalar::Float(0.3711)),
                |t| Flex::float_sub_scalar(t, Scalar::Float(0.3711)),
            ),
            (
                "mul_scalar",
                |t| FastCpu::float_mul_scalar(t, Scalar::Float(0.3711)),
                |t| Flex::float_mul_scalar(t, Scalar::Float(0.3711)),
            ),
            (
                "div_scalar",
                |t| FastCpu::float_div_scalar(t, Scalar::Float(0.3711)),
                |t| Flex::float_div_scalar(t, Scalar::Float(0.3711)),
            ),
        ];
        for (name, ours, theirs) in scalar {
            check_map(name, ours, theirs, id);
        }
        // A non-float scalar goes to Flex.
        let t = flex(&random(n(&BIG), 3), &BIG);
        assert_eq!(
            bits(FastCpu::float_mul_scalar(t.clone(), Scalar::Int(3))),
            bits(Flex::float_mul_scalar(t, Scalar::Int(3)))
        );
    }

    type Binary = fn(FlexTensor, FlexTensor) -> FlexTensor;

    #[test]
    fn same_shape_and_broadcast_binary_ops_match_flex_in_place_or_not() {
        let ops: [(&str, Binary, Binary); 5] = [
            ("add", FastCpu::float_add, Flex::float_add),
            ("sub", FastCpu::float_sub, Flex::float_sub),
            ("mul", FastCpu::float_mul, Flex::float_mul),
            ("div", FastCpu::float_div, Flex::float_div),
            (
                "relu_backward",
                <FastCpu as ActivationOps<FastCpu>>::relu_backward,
                <Flex as ActivationOps<Flex>>::relu_backward,
            ),
        ];
        let a = random(n(&BIG), 21);
        let b = random(n(&BIG), 22);
        let bt = random(n(&BIG), 23);
        let ch = random(5, 24);
        type Make<'a> = Box<dyn Fn() -> FlexTensor + 'a>;
        let pairs: Vec<(&str, Make<'_>, Make<'_>)> = vec![
            (
                "same shape",
                Box::new(|| flex(&a, &BIG)),
                Box::new(|| flex(&b, &BIG)),
            ),
            (
                "rhs transposed",
                Box::new(|| flex(&a, &BIG)),
                Box::new(|| flex(&bt, &[2, 5, 131, 97]).transpose(2, 3)),
            ),
            (
                "lhs transposed",
                Box::new(|| flex(&bt, &[2, 5, 131, 97]).transpose(2, 3)),
                Box::new(|| flex(&a, &BIG)),
            ),
            (
                "rhs per channel",
                Box::new(|| flex(&a, &BIG)),
                Box::new(|| flex(&ch, &[1, 5, 1, 1])),
            ),
            (
                "lhs per channel",
                Box::new(|| flex(&ch, &[1, 5, 1, 1])),
                Box::new(|| flex(&b, &BIG)),
            ),
            (
                "small",
                Box::new(|| flex(&a[..120], &SMALL)),
                Box::new(|| flex(&b[..120], &SMALL)),
            ),
        ];
        for (name, ours, theirs) in ops {
            for (case, l, r) in &pairs {
                let expected = bits(theirs(l(), r()));
                assert_eq!(bits(ours(l(), r())), expected, "{name} {case} (unique)");
                let (shared, keep) = (l(), l());
                let alias = shared.clone();
                assert_eq!(bits(ours(shared, r())), expected, "{name} {case} (shared)");
                assert_eq!(
                    bits(alias),
                    bits(keep),
                    "{name} {case}: shared lhs modified"
                );
            }
        }
    }

    fn bool_bytes(t: FlexTensor) -> (DType, Vec<u8>) {
        let t = t.to_contiguous();
        let n = t.layout().num_elements();
        let start = t.layout().start_offset();
        (t.dtype(), t.bytes()[start..start + n].to_vec())
    }

    type Compare = fn(FlexTensor, Scalar, BoolDType) -> FlexTensor;

    #[test]
    fn comparisons_with_a_scalar_match_flex() {
        let ops: [(&str, Compare, Compare); 4] = [
            ("lower", FastCpu::float_lower_elem, Flex::float_lower_elem),
            (
                "lower_equal",
                FastCpu::float_lower_equal_elem,
                Flex::float_lower_equal_elem,
            ),
            (
                "greater",
                FastCpu::float_greater_elem,
                Flex::float_greater_elem,
            ),
            (
                "greater_equal",
                FastCpu::float_greater_equal_elem,
                Flex::float_greater_equal_elem,
            ),
        ];
        // Values on a grid, so that some equal the threshold exactly.
        let grid: fn(f32) -> f32 = |x| (x * 8.0).round() / 8.0;
        for (name, ours, theirs) in ops {
            for (case, make) in inputs(31, grid) {
                for (th, dt) in [(0.0, BoolDType::Native), (0.25, BoolDType::U8)] {
                    assert_eq!(
                        bool_bytes(ours(make(), Scalar::Float(th), dt)),
                        bool_bytes(theirs(make(), Scalar::Float(th), dt)),
                        "{name} {case} {th}"
                    );
                }
            }
        }
    }

    #[test]
    fn mask_where_and_mask_fill_match_flex() {
        let lt = |t: FlexTensor| Flex::float_lower_elem(t, Scalar::Float(0.0), BoolDType::Native);
        let x = random(n(&BIG), 41);
        let v = random(n(&BIG), 42);
        let xt = random(n(&BIG), 43);
        let ch = random(5, 44);
        type Make<'a> = Box<dyn Fn() -> FlexTensor + 'a>;
        // (case, tensor, mask, value)
        let cases: Vec<(&str, Make<'_>, Make<'_>, Make<'_>)> = vec![
            (
                "contiguous",
                Box::new(|| flex(&x, &BIG)),
                Box::new(|| lt(flex(&x, &BIG))),
                Box::new(|| flex(&v, &BIG)),
            ),
            (
                "transposed tensor and mask",
                Box::new(|| flex(&xt, &[2, 5, 131, 97]).transpose(2, 3)),
                Box::new(|| lt(flex(&xt, &[2, 5, 131, 97])).transpose(2, 3)),
                Box::new(|| flex(&v, &BIG)),
            ),
            (
                "broadcast mask and value",
                Box::new(|| flex(&x, &BIG)),
                Box::new(|| lt(flex(&ch, &[1, 5, 1, 1]))),
                Box::new(|| flex(&ch, &[1, 5, 1, 1])),
            ),
            (
                "small",
                Box::new(|| flex(&x[..120], &SMALL)),
                Box::new(|| lt(flex(&x[..120], &SMALL))),
                Box::new(|| flex(&v[..120], &SMALL)),
            ),
        ];
        for (case, t, m, val) in &cases {
            assert_eq!(
                bits(FastCpu::float_mask_where(t(), m(), val())),
                bits(Flex::float_mask_where(t(), m(), val())),
                "mask_where {case}"
            );
            assert_eq!(
                bits(FastCpu::float_mask_fill(t(), m(), Scalar::Float(-2.5))),
                bits(Flex::float_mask_fill(t(), m(), Scalar::Float(-2.5))),
                "mask_fill {case}"
            );
        }
    }

    #[test]
    fn fills_match_flex() {
        let dev = FlexDevice;
        for shape in [SMALL, BIG] {
            let s = || Shape::from(shape.to_vec());
            let f32t = FloatDType::F32;
            let pairs = [
                (
                    FastCpu::float_zeros(s(), &dev, f32t),
                    Flex::float_zeros(s(), &dev, f32t),
                ),
                (
                    FastCpu::float_empty(s(), &dev, f32t),
                    Flex::float_zeros(s(), &dev, f32t),
                ),
                (
                    FastCpu::float_ones(s(), &dev, f32t),
                    Flex::float_ones(s(), &dev, f32t),
                ),
                (
                    FastCpu::float_full(s(), Scalar::Float(-1.75), &dev, f32t),
                    Flex::float_full(s(), Scalar::Float(-1.75), &dev, f32t),
                ),
            ];
            for (i, (o, f)) in pairs.into_iter().enumerate() {
                assert_eq!(o.shape(), f.shape(), "fill {i} {shape:?}: shape");
                assert_eq!(o.dtype(), f.dtype(), "fill {i} {shape:?}: dtype");
                assert_eq!(bits(o), bits(f), "fill {i} {shape:?}");
            }
            // Other dtypes stay on Flex.
            let z = FastCpu::float_zeros(s(), &dev, FloatDType::F64);
            assert_eq!(z.dtype(), DType::F64);
        }
    }

    #[test]
    fn reshape_of_a_strided_tensor_matches_flex() {
        for (case, make) in inputs(51, |x| x) {
            let shape = Shape::from(vec![10, n(&BIG) / 10]);
            let small = case == "small";
            let shape = if small {
                Shape::from(vec![6, 20])
            } else {
                shape
            };
            let (o, f) = (
                FastCpu::float_reshape(make(), shape.clone()),
                Flex::float_reshape(make(), shape),
            );
            assert_eq!(o.shape(), f.shape(), "{case}");
            assert_eq!(bits(o), bits(f), "{case}");
        }
    }

    #[test]
    fn slice_assign_matches_flex_and_leaves_shared_tensors_alone() {
        let x = random(n(&BIG), 61);
        let v = random(2 * 3 * 90 * 120, 62);
        let vt = random(2 * 3 * 90 * 120, 63);
        type Make<'a> = Box<dyn Fn() -> FlexTensor + 'a>;
        let s = |a: usize, b: usize| Slice::new(a as isize, Some(b as isize), 1);
        // (case, tensor, slices, value)
        let cases: Vec<(&str, Make<'_>, Vec<Slice>, Make<'_>)> = vec![
            (
                "box",
                Box::new(|| flex(&x, &BIG)),
                vec![s(0, 2), s(1, 4), s(3, 93), s(5, 125)],
                Box::new(|| flex(&v, &[2, 3, 90, 120])),
            ),
            (
                "leading slices only",
                Box::new(|| flex(&x, &BIG)),
                vec![s(1, 2), s(0, 5)],
                Box::new(|| flex(&x[..n(&BIG) / 2], &[1, 5, 97, 131])),
            ),
            (
                "transposed value",
                Box::new(|| flex(&x, &BIG)),
                vec![s(0, 2), s(2, 5), s(7, 97), s(11, 101)],
                Box::new(|| flex(&vt[..2 * 3 * 90 * 90], &[2, 3, 90, 90]).transpose(2, 3)),
            ),
            (
                "flipped value (Flex)",
                Box::new(|| flex(&x, &BIG)),
                vec![s(0, 2), s(2, 5), s(7, 97), s(11, 101)],
                Box::new(|| Flex::float_flip(flex(&vt[..2 * 3 * 90 * 90], &[2, 3, 90, 90]), &[3])),
            ),
            (
                "transposed tensor",
                Box::new(|| flex(&x, &[2, 5, 131, 97]).transpose(2, 3)),
                vec![s(0, 2), s(1, 4), s(3, 93), s(5, 125)],
                Box::new(|| flex(&v, &[2, 3, 90, 120])),
            ),
            (
                "small",
                Box::new(|| flex(&x[..120], &SMALL)),
                vec![s(0, 1), s(1, 3)],
                Box::new(|| flex(&v[..40], &[1, 2, 4, 5])),
            ),
        ];
        for (case, t, slices, val) in &cases {
            let expected = bits(Flex::float_slice_assign(t(), slices, val()));
            assert_eq!(
                bits(FastCpu::float_slice_assign(t(), slices, val())),
                expected,
                "{case} (unique)"
            );
            let shared = t();
            let keep = shared.clone();
            assert_eq!(
                bits(FastCpu::float_slice_assign(shared, slices, val())),
                expected,
                "{case} (shared)"
            );
            assert_eq!(bits(keep), bits(t()), "{case}: shared tensor modified");
        }
    }

    #[test]
    fn sums_and_means_over_a_dimension_match_flex() {
        // Sizes where the reduced row has a tail after 16-wide lanes, and large outer sizes.
        let shapes: [&[usize]; 4] = [&SMALL, &BIG, &[8, 64, 67, 3], &[1, 64, 40, 41]];
        for shape in shapes {
            let x = random(n(shape), 71);
            for dim in 0..shape.len() {
                for mean in [false, true] {
                    let (o, f) = if mean {
                        (
                            FastCpu::float_mean_dim(flex(&x, shape), dim),
                            Flex::float_mean_dim(flex(&x, shape), dim),
                        )
                    } else {
                        (
                            FastCpu::float_sum_dim(flex(&x, shape), dim),
                            Flex::float_sum_dim(flex(&x, shape), dim),
                        )
                    };
                    assert_eq!(o.shape(), f.shape(), "{shape:?} dim {dim} mean {mean}");
                    // Largest difference over the largest value (super::rel_err): single
                    // near-cancelling sums differ relatively more, in either order.
                    let err = super::rel_err(&values(o), &super::to64(&values(f)));
                    assert!(err <= 1e-6, "{shape:?} dim {dim} mean {mean}: {err}");
                }
            }
        }
        // A transposed input goes to Flex.
        let t = flex(&random(n(&BIG), 72), &BIG).transpose(2, 3);
        assert_eq!(
            bits(FastCpu::float_sum_dim(t.clone(), 3)),
            bits(Flex::float_sum_dim(t, 3))
        );
    }

    #[test]
    fn padding_matches_burns_pad_forward_and_backward() {
        use burn::backend::Autodiff;
        use burn::tensor::{Tensor, TensorData, ops::PadMode};
        use toongan::kernels::Pad;
        use toongan::model::pad_tensor;
        type B = Autodiff<FastCpu>;
        type R = Autodiff<Flex>;
        let shape = [1, 8, 67, 71];
        let x = random(n(&shape), 81);
        let g = random(8 * 73 * 77, 82);
        for p in [1, 3] {
            let (h, w) = (67 + 2 * p, 71 + 2 * p);
            let run_ours = |pad: Pad| {
                let xt = Tensor::<B, 4>::from_data(
                    TensorData::new(x.clone(), shape),
                    &Default::default(),
                )
                .require_grad();
                let y = pad_tensor(xt.clone(), pad);
                let gt = Tensor::<B, 4>::from_data(
                    TensorData::new(g[..8 * h * w].to_vec(), [1, 8, h, w]),
                    &Default::default(),
                );
                let grads = (y.clone() * gt).sum().backward();
                let dx = xt.grad(&grads).expect("grad");
                (
                    y.into_data().to_vec::<f32>().expect("f32"),
                    dx.into_data().to_vec::<f32>().expect("f32"),
                )
            };
            let run_ref = |mode: PadMode| {
                let xt = Tensor::<R, 4>::from_data(
                    TensorData::new(x.clone(), shape),
                    &Default::default(),
                )
                .require_grad();
                let y = xt.clone().pad([(p, p), (p, p)], mode);
                let gt = Tensor::<R, 4>::from_data(
                    TensorData::new(g[..8 * h * w].to_vec(), [1, 8, h, w]),
                    &Default::default(),
                );
                let grads = (y.clone() * gt).sum().backward();
                let dx = xt.grad(&grads).expect("grad");
                (
                    y.into_data().to_vec::<f32>().expect("f32"),
                    dx.into_data().to_vec::<f32>().expect("f32"),
                )
            };
            assert_eq!(
                run_ours(Pad::Zeros(p)),
                run_ref(PadMode::Constant(0.0)),
                "zeros {p}"
            );
            assert_eq!(
                run_ours(Pad::Reflect(p)),
                run_ref(PadMode::Reflect),
                "reflect {p}"
            );
        }
    }
}
