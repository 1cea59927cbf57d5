//! CycleGAN (Zhu et al., ICCV 2017) as a [`GanModel`]: two ResNet generators, two 70x70
//! PatchGANs, adversarial + cycle + identity losses, image pools and linear LR decay.
//!
//! One step follows junyanz/pytorch-CycleGAN-and-pix2pix `models/cycle_gan_model.py`
//! (`optimize_parameters`), with A = photos and B = cartoons: G_A (photo→cartoon) and G_B
//! make fake_B = G_A(A), rec_A = G_B(fake_B), fake_A = G_B(B), rec_B = G_A(fake_A); one Adam
//! step of both generators on gan(D_A(fake_B) → 1) + gan(D_B(fake_A) → 1) + λ_A·|rec_A − A| +
//! λ_B·|rec_B − B| + λ_idt·(λ_B·|G_A(B) − B| + λ_A·|G_B(A) − A|) with the discriminators
//! frozen; then one Adam step of both discriminators on
//! 0.5·(gan(D_A(B) → 1) + gan(D_A(pool(fake_B)) → 0)) + 0.5·(gan(D_B(A) → 1) +
//! gan(D_B(pool(fake_A)) → 0)), the fakes being the ones made before the generator step.
//!
//! The seed experiment's two ablations: `edge_smoothing_loss` adds CartoonGAN's
//! gan(D_A(edge-smoothed B) → 0) inside D_A's ½(…); `train.init_epochs = N` first trains the
//! generators on the cycle and identity terms alone (no discriminator, pools untouched).

use std::path::Path;

use burn::config::Config;
use burn::module::{AutodiffModule, Module, ModuleMapper, Param};
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Distribution, ElementConversion, Tensor, TensorData};

use super::TrainError;
use super::cycle_loss::{cycle_loss, identity_loss};
use super::data::HostBatch;
use super::gan_loss::GanLossKind;
use super::gan_model::{GanModel, Losses, ModelSection, Phase, seeded_init};
use super::grad_sync::GradSync;
use super::host_tensor::{planes_tensor, translate_planes};
use super::image_pool::ImagePool;
use super::sections::ScheduleConfig;
use super::state_files::{Opt, adam, load_pair, save_pair};
use crate::model::{PatchGan, PatchGanConfig, ResnetGenerator, ResnetGeneratorConfig};

/// The registry name (`model = "cyclegan"`, `--model cyclegan`).
pub const NAME: &str = "cyclegan";

/// CycleGAN's networks, losses and schedule; defaults are junyanz's `train.py --model
/// cycle_gan` (resnet_9blocks, basic D, instance norm, lsgan, pool 50, λ 10, identity 0.5).
#[derive(Config, Debug, PartialEq)]
pub struct CycleGanConfig {
    /// Both generators (G_A photo→cartoon, G_B cartoon→photo).
    #[config(default = "ResnetGeneratorConfig::new()")]
    pub generator: ResnetGeneratorConfig,
    /// Both discriminators (D_A judges cartoons, D_B photos).
    #[config(default = "PatchGanConfig::new()")]
    pub discriminator: PatchGanConfig,
    /// Adversarial loss (`lsgan` as junyanz's default, or `bce`).
    #[config(default = "GanLossKind::Lsgan")]
    pub gan_loss: GanLossKind,
    /// Weight of the photo cycle |G_B(G_A(A)) − A| (junyanz `lambda_A`).
    #[config(default = 10.0)]
    pub lambda_a: f64,
    /// Weight of the cartoon cycle |G_A(G_B(B)) − B| (junyanz `lambda_B`).
    #[config(default = 10.0)]
    pub lambda_b: f64,
    /// Identity loss weight relative to the cycle weights (junyanz `lambda_identity`):
    /// |G_A(B) − B| is weighted λ_idt·λ_B, |G_B(A) − A| λ_idt·λ_A; 0 disables it.
    #[config(default = 0.5)]
    pub lambda_identity: f64,
    /// Generated images remembered per direction for the discriminators (0 = no pool).
    #[config(default = 50)]
    pub pool_size: usize,
    /// The last N epochs of `train.epochs` decay the learning rate linearly towards 0
    /// (junyanz `n_epochs_decay`; 0 = constant learning rate).
    #[config(default = 0)]
    pub n_epochs_decay: usize,
    /// Standard deviation of the normal weight init (junyanz `init_type normal`, `init_gain`);
    /// biases start at 0.
    #[config(default = 0.02)]
    pub init_gain: f64,
    /// Ablation: D_A also learns that edge-smoothed cartoons are fake (CartoonGAN's loss).
    #[config(default = false)]
    pub edge_smoothing_loss: bool,
}

impl ModelSection for CycleGanConfig {
    /// Zhu et al. have no initialization phase, so plain `--model cyclegan` is theirs.
    fn default_init_epochs(&self) -> usize {
        0
    }

    /// Only the edge-smoothing ablation uses the smoothed cartoons.
    fn needs_edge_smoothing(&self) -> bool {
        self.edge_smoothing_loss
    }

    fn validate(&self, schedule: &ScheduleConfig) -> Result<(), String> {
        if self.n_epochs_decay > schedule.epochs {
            return Err("cyclegan.n_epochs_decay must not exceed train.epochs".into());
        }
        Ok(())
    }

    /// Both ResNet generators width 8 with 2 blocks, both PatchGANs width 8.
    fn apply_tiny(&mut self) {
        self.generator = self.generator.clone().with_width(8).with_n_residual(2);
        self.discriminator = self.discriminator.clone().with_width(8);
    }
}

/// G_A (photo→cartoon) and G_B (cartoon→photo), one module so one Adam updates both.
#[derive(Module, Debug)]
pub struct Generators<B: Backend> {
    /// G_A: photo → cartoon (the generator `cartoonize` uses).
    pub a: ResnetGenerator<B>,
    /// G_B: cartoon → photo.
    pub b: ResnetGenerator<B>,
}

/// D_A (real cartoon vs G_A's output) and D_B (real photo vs G_B's output).
#[derive(Module, Debug)]
pub struct Discriminators<B: Backend> {
    /// D_A: judges cartoons.
    pub a: PatchGan<B>,
    /// D_B: judges photos.
    pub b: PatchGan<B>,
}

/// The learning-rate factor of 0-based `epoch` (junyanz `lr_policy linear` with
/// `epoch_count` 1): 1 for the first `epochs − decay` epochs, then
/// 1 − (epoch + 1 − (epochs − decay)) / (decay + 1).
pub fn linear_decay_factor(epoch: usize, epochs: usize, decay: usize) -> f64 {
    let constant = epochs.saturating_sub(decay) as f64;
    1.0 - ((epoch + 1) as f64 - constant).max(0.0) / (decay + 1) as f64
}

/// junyanz's `init_weights(init_type="normal")`: weights ~ N(0, std), biases 0.
struct NormalInit {
    std: f64,
}

impl<B: Backend> ModuleMapper<B> for NormalInit {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        let grad = tensor.is_require_grad();
        let (shape, device) = (tensor.shape(), tensor.device());
        let value = if D > 1 {
            Tensor::random(shape, Distribution::Normal(0.0, self.std), &device)
        } else {
            Tensor::zeros(shape, &device)
        };
        Param::from_mapped_value(id, value.set_require_grad(grad), mapper)
    }
}

/// Pool files inside a checkpoint folder.
const POOL_FAKE_CARTOONS: &str = "pool_fake_cartoons.safetensors";
const POOL_FAKE_PHOTOS: &str = "pool_fake_photos.safetensors";

/// CycleGAN in training.
pub struct CycleGan<B: AutodiffBackend> {
    /// Networks, losses and schedule.
    pub config: CycleGanConfig,
    /// G_A and G_B.
    pub g: Generators<B>,
    /// D_A and D_B.
    pub d: Discriminators<B>,
    /// Fake cartoons (G_A's outputs) D_A learns from.
    pub fake_cartoon_pool: ImagePool,
    /// Fake photos (G_B's outputs) D_B learns from.
    pub fake_photo_pool: ImagePool,
    opt_g: Opt<Generators<B>, B>,
    opt_d: Opt<Discriminators<B>, B>,
    lr: f64,
    epochs: usize,
    device: B::Device,
    /// Set on a data-parallel replica: gradients are averaged with the other replicas'.
    sync: Option<GradSync>,
}

impl<B: AutodiffBackend> CycleGan<B> {
    /// Fresh networks (normal init) seeded by `schedule.seed`, fresh optimizers, empty pools.
    pub fn new(
        config: &CycleGanConfig,
        schedule: &ScheduleConfig,
        device: &B::Device,
    ) -> Result<Self, TrainError> {
        if !(config.init_gain.is_finite() && config.init_gain > 0.0) {
            return Err(TrainError::Config {
                path: "cyclegan.init_gain".into(),
                message: format!("must be a positive number, not {}", config.init_gain),
            });
        }
        let (g, d) = seeded_init::<B, _>(device, schedule.seed, || {
            let mut init = NormalInit {
                std: config.init_gain,
            };
            let (gc, dc) = (&config.generator, &config.discriminator);
            let g = Generators {
                a: gc.init(device),
                b: gc.init(device),
            };
            let d = Discriminators {
                a: dc.init(device),
                b: dc.init(device),
            };
            (g.map(&mut init), d.map(&mut init))
        });
        Ok(Self {
            config: config.clone(),
            g,
            d,
            fake_cartoon_pool: ImagePool::new(config.pool_size, schedule.seed ^ 0xB),
            fake_photo_pool: ImagePool::new(config.pool_size, schedule.seed ^ 0xA),
            opt_g: adam(schedule),
            opt_d: adam(schedule),
            lr: schedule.lr,
            epochs: schedule.epochs,
            device: device.clone(),
            sync: None,
        })
    }

    /// The learning rate of 0-based `epoch` (constant, then the linear decay).
    pub fn lr_at(&self, epoch: usize) -> f64 {
        self.lr * linear_decay_factor(epoch, self.epochs, self.config.n_epochs_decay)
    }

    fn tensor(&self, data: &[f32], n: usize, size: usize) -> Tensor<B, 4> {
        planes_tensor(data, n, size, &self.device)
    }

    /// Detached generated images as the discriminator sees them, through `pool`.
    fn pooled(&self, pool: &mut ImagePool, fake: &Tensor<B, 4>) -> Tensor<B, 4> {
        let fake = fake.clone().detach();
        if self.config.pool_size == 0 {
            return fake;
        }
        let dims = fake.dims();
        let host: Vec<f32> = fake
            .into_data()
            .convert::<f32>()
            .to_vec()
            .unwrap_or_default();
        let out = pool.query(&host, dims[0]);
        Tensor::from_data(TensorData::new(out, dims), &self.device)
    }

    /// One step on tensors (NCHW in [-1, 1]) at learning rate `lr`; `smoothed` (edge-smoothed
    /// cartoons) is used only with `edge_smoothing_loss`. The parity test calls this directly.
    pub fn step_tensors(
        &mut self,
        photos: Tensor<B, 4>,
        cartoons: Tensor<B, 4>,
        smoothed: Tensor<B, 4>,
        phase: Phase,
        lr: f64,
    ) -> Losses {
        let scalar = |t: &Tensor<B, 1>| t.clone().into_scalar().elem::<f64>();
        let c = &self.config;
        let (real_a, real_b) = (photos, cartoons);
        let fake_b = self.g.a.forward(real_a.clone());
        let rec_a = self.g.b.forward(fake_b.clone());
        let fake_a = self.g.b.forward(real_b.clone());
        let rec_b = self.g.a.forward(fake_a.clone());
        let cycle_a = cycle_loss(rec_a, real_a.clone(), c.lambda_a);
        let cycle_b = cycle_loss(rec_b, real_b.clone(), c.lambda_b);
        let mut g_loss = cycle_a.clone() + cycle_b.clone();
        let (mut idt_a, mut idt_b) = (0.0, 0.0);
        if c.lambda_identity > 0.0 {
            let a = identity_loss(
                self.g.a.forward(real_b.clone()),
                real_b.clone(),
                c.lambda_b * c.lambda_identity,
            );
            let b = identity_loss(
                self.g.b.forward(real_a.clone()),
                real_a.clone(),
                c.lambda_a * c.lambda_identity,
            );
            (idt_a, idt_b) = (scalar(&a), scalar(&b));
            g_loss = g_loss + a + b;
        }
        let (cycle_a, cycle_b) = (scalar(&cycle_a), scalar(&cycle_b));
        let gan = c.gan_loss;
        if phase == Phase::Init {
            let value = scalar(&g_loss);
            let grads = GradientsParams::from_grads(g_loss.backward(), &self.g);
            let grads = GradSync::mean(self.sync, grads, &self.g);
            self.g = self.opt_g.step(lr, self.g.clone(), grads);
            return vec![
                ("cycle_a".into(), cycle_a),
                ("idt_a".into(), idt_a),
                ("cycle_b".into(), cycle_b),
                ("idt_b".into(), idt_b),
                ("g_loss".into(), value),
            ];
        }
        // Generators, through frozen discriminators (junyanz `set_requires_grad(D, False)`).
        let frozen = self.d.clone().no_grad();
        let g_a = gan.loss(frozen.a.forward(fake_b.clone()), 1.0);
        let g_b = gan.loss(frozen.b.forward(fake_a.clone()), 1.0);
        let (g_a_value, g_b_value) = (scalar(&g_a), scalar(&g_b));
        let g_loss = g_loss + g_a + g_b;
        let g_value = scalar(&g_loss);
        let grads = GradientsParams::from_grads(g_loss.backward(), &self.g);
        let grads = GradSync::mean(self.sync, grads, &self.g);
        self.g = self.opt_g.step(lr, self.g.clone(), grads);
        // Discriminators, on the fakes made before the generator step, through the pools.
        let mut pool = std::mem::replace(&mut self.fake_cartoon_pool, ImagePool::new(0, 0));
        let pooled_b = self.pooled(&mut pool, &fake_b);
        self.fake_cartoon_pool = pool;
        let mut pool = std::mem::replace(&mut self.fake_photo_pool, ImagePool::new(0, 0));
        let pooled_a = self.pooled(&mut pool, &fake_a);
        self.fake_photo_pool = pool;
        let mut d_a =
            gan.loss(self.d.a.forward(real_b), 1.0) + gan.loss(self.d.a.forward(pooled_b), 0.0);
        if c.edge_smoothing_loss {
            d_a = d_a + gan.loss(self.d.a.forward(smoothed), 0.0);
        }
        let d_a = d_a.mul_scalar(0.5);
        let d_b = (gan.loss(self.d.b.forward(real_a), 1.0)
            + gan.loss(self.d.b.forward(pooled_a), 0.0))
        .mul_scalar(0.5);
        let (d_a_value, d_b_value) = (scalar(&d_a), scalar(&d_b));
        let grads = GradientsParams::from_grads((d_a + d_b).backward(), &self.d);
        let grads = GradSync::mean(self.sync, grads, &self.d);
        self.d = self.opt_d.step(lr, self.d.clone(), grads);
        vec![
            ("d_a".into(), d_a_value),
            ("g_a".into(), g_a_value),
            ("cycle_a".into(), cycle_a),
            ("idt_a".into(), idt_a),
            ("d_b".into(), d_b_value),
            ("g_b".into(), g_b_value),
            ("cycle_b".into(), cycle_b),
            ("idt_b".into(), idt_b),
            ("g_loss".into(), g_value),
        ]
    }
}

impl<B: AutodiffBackend> GanModel<B> for CycleGan<B> {
    fn name(&self) -> &'static str {
        NAME
    }

    fn train_step(&mut self, batch: &HostBatch, phase: Phase) -> Result<Losses, TrainError> {
        let (n, s) = (batch.n, batch.size);
        let photos = self.tensor(&batch.photos, n, s);
        let cartoons = self.tensor(&batch.cartoons, n, s);
        let smoothed = if self.config.edge_smoothing_loss {
            self.tensor(&batch.smoothed, n, s)
        } else {
            cartoons.clone()
        };
        let lr = self.lr_at(batch.epoch);
        Ok(self.step_tensors(photos, cartoons, smoothed, phase, lr))
    }

    fn visuals(&self, photos: &[f32], n: usize, size: usize) -> Vec<f32> {
        let g = self.g.a.valid();
        translate_planes(photos, n, size, &self.device, |x| g.forward(x))
    }

    fn save_state(&self, dir: &Path) -> Result<(), TrainError> {
        save_pair(dir, ("generators", &self.g), ("optim_g", &self.opt_g))?;
        save_pair(dir, ("discriminators", &self.d), ("optim_d", &self.opt_d))?;
        self.fake_cartoon_pool.save(&dir.join(POOL_FAKE_CARTOONS))?;
        self.fake_photo_pool.save(&dir.join(POOL_FAKE_PHOTOS))
    }

    fn load_state(&mut self, dir: &Path) -> Result<(), TrainError> {
        let device = &self.device;
        load_pair(
            dir,
            ("generators", &mut self.g),
            ("optim_g", &mut self.opt_g),
            device,
        )?;
        load_pair(
            dir,
            ("discriminators", &mut self.d),
            ("optim_d", &mut self.opt_d),
            device,
        )?;
        self.fake_cartoon_pool = ImagePool::load(&dir.join(POOL_FAKE_CARTOONS))?;
        self.fake_photo_pool = ImagePool::load(&dir.join(POOL_FAKE_PHOTOS))?;
        Ok(())
    }

    fn set_grad_sync(&mut self, sync: GradSync) -> Result<(), TrainError> {
        self.sync = Some(sync);
        Ok(())
    }

    fn save_generator(&self, path: &Path) -> Result<(), TrainError> {
        crate::weights::save_resnet_generator(&self.g.a.valid(), &self.config.generator, path)
            .map_err(|e| TrainError::checkpoint(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::linear_decay_factor;

    #[test]
    fn decay_matches_junyanz_lambda_rule() {
        // junyanz: 1 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1), n_epochs = 3.
        let f: Vec<f64> = (0..6).map(|e| linear_decay_factor(e, 6, 3)).collect();
        assert_eq!(f, vec![1.0, 1.0, 1.0, 0.75, 0.5, 0.25]);
        assert!((0..10).all(|e| linear_decay_factor(e, 10, 0) == 1.0));
    }
}
