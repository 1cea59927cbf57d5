//! CartoonGAN (Chen et al., CVPR 2018) as a [`GanModel`]: generator, patch discriminator,
//! content loss and the two-phase objective.
//!
//! One step follows znxlwm/pytorch-CartoonGAN `CartoonGAN.py`: in the initialization phase
//! the generator minimises ω·content only; afterwards the discriminator takes a step on
//! real cartoon → 1, edge-smoothed cartoon → 0, generated → 0, then the generator a step on
//! adversarial(D(G(x)) → 1) + ω·content. G(x) is computed once per step and reused, detached,
//! for the discriminator (so batch-norm running statistics see one generator pass per step).

use std::path::Path;

use burn::config::Config;
use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};

use super::TrainError;
use super::content_loss::{ContentLoss, ContentLossConfig};
use super::data::HostBatch;
use super::gan_loss::GanLossKind;
use super::gan_model::{GanModel, Losses, ModelSection, Phase, try_seeded_init};
use super::grad_sync::GradSync;
use super::host_tensor::{planes_tensor, translate_planes};
use super::sections::ScheduleConfig;
use super::state_files::{Opt, adam, load_pair, save_pair};
use crate::model::{
    ChannelOrder, Discriminator, DiscriminatorConfig, Generator, GeneratorConfig, NormKind,
};

/// The registry name (`model = "cartoongan"`, `--model cartoongan`).
pub const NAME: &str = "cartoongan";

/// CartoonGAN's networks and losses.
#[derive(Config, Debug, PartialEq)]
pub struct CartoonGanConfig {
    /// The generator (training default: batch norm, RGB).
    #[config(default = "CartoonGanConfig::default_generator()")]
    pub generator: GeneratorConfig,
    /// The discriminator.
    #[config(default = "DiscriminatorConfig::new()")]
    pub discriminator: DiscriminatorConfig,
    /// The content loss.
    #[config(default = "ContentLossConfig::new()")]
    pub content: ContentLossConfig,
    /// The adversarial loss.
    #[config(default = "GanLossKind::Bce")]
    pub gan_loss: GanLossKind,
}

impl CartoonGanConfig {
    /// The paper's generator for training: batch norm (eps 1e-5), RGB in and out.
    pub fn default_generator() -> GeneratorConfig {
        GeneratorConfig::new()
            .with_norm(NormKind::Batch)
            .with_norm_epsilon(1e-5)
            .with_channel_order(ChannelOrder::Rgb)
    }
}

impl ModelSection for CartoonGanConfig {
    /// The paper's 10 epochs of content-only initialization.
    fn default_init_epochs(&self) -> usize {
        10
    }

    /// The discriminator learns that edge-smoothed cartoons are fake.
    fn needs_edge_smoothing(&self) -> bool {
        true
    }

    /// Width-8 G with 2 residual blocks, width-8 D, and a width-16 feature network with random
    /// weights.
    fn apply_tiny(&mut self) {
        self.generator = self.generator.clone().with_width(8).with_n_residual(2);
        self.discriminator = self.discriminator.clone().with_width(8);
        self.content.width = 16;
        // The feature network is left as it is (VGG19 by default) so `tiny` composes
        // with `resnet_content`; random weights either way.
        self.content.weights = "random".into();
    }
}

/// CartoonGAN in training.
pub struct CartoonGan<B: AutodiffBackend> {
    /// Generator config (saved with the generator file).
    pub g_config: GeneratorConfig,
    /// The generator.
    pub g: Generator<B>,
    /// The discriminator.
    pub d: Discriminator<B>,
    /// The frozen content loss.
    pub content: ContentLoss<B>,
    gan_loss: GanLossKind,
    opt_g: Opt<Generator<B>, B>,
    opt_d: Opt<Discriminator<B>, B>,
    lr: f64,
    device: B::Device,
    /// Set on a data-parallel replica: gradients are averaged with the other replicas'.
    sync: Option<GradSync>,
}

impl<B: AutodiffBackend> CartoonGan<B> {
    /// Fresh networks seeded by `schedule.seed`, and fresh optimizers.
    pub fn new(
        config: &CartoonGanConfig,
        schedule: &ScheduleConfig,
        device: &B::Device,
    ) -> Result<Self, TrainError> {
        let (g, d, content) = try_seeded_init::<B, _, _>(device, schedule.seed, || {
            Ok::<_, TrainError>((
                config.generator.init(device),
                config.discriminator.init(device),
                config
                    .content
                    .init(device)
                    .map_err(|e| TrainError::Model(e.to_string()))?,
            ))
        })?;
        Ok(Self {
            g_config: config.generator.clone(),
            g,
            d,
            content,
            gan_loss: config.gan_loss,
            opt_g: adam(schedule),
            opt_d: adam(schedule),
            lr: schedule.lr,
            device: device.clone(),
            sync: None,
        })
    }

    fn tensor(&self, data: &[f32], n: usize, size: usize) -> Tensor<B, 4> {
        planes_tensor(data, n, size, &self.device)
    }

    /// One step on tensors (NCHW in [-1, 1]); the parity test calls this directly.
    pub fn step_tensors(
        &mut self,
        photos: Tensor<B, 4>,
        cartoons: Tensor<B, 4>,
        smoothed: Tensor<B, 4>,
        phase: Phase,
    ) -> Losses {
        let scalar = |t: &Tensor<B, 1>| t.clone().into_scalar().elem::<f64>();
        let generated = self.g.forward(photos.clone());
        if phase == Phase::Init {
            let content = self.content.forward(photos, generated);
            let value = scalar(&content);
            let grads = GradientsParams::from_grads(content.backward(), &self.g);
            let grads = GradSync::mean(self.sync, grads, &self.g);
            self.g = self.opt_g.step(self.lr, self.g.clone(), grads);
            return vec![("content".into(), value)];
        }
        // Discriminator: cartoon → 1, edge-smoothed cartoon → 0, generated → 0.
        let l = self.gan_loss;
        let d_real = l.loss(self.d.forward(cartoons), 1.0);
        let d_edge = l.loss(self.d.forward(smoothed), 0.0);
        let d_fake = l.loss(self.d.forward(generated.clone().detach()), 0.0);
        let d_loss = d_real + d_edge + d_fake;
        let d_value = scalar(&d_loss);
        let grads = GradientsParams::from_grads(d_loss.backward(), &self.d);
        let grads = GradSync::mean(self.sync, grads, &self.d);
        self.d = self.opt_d.step(self.lr, self.d.clone(), grads);
        // Generator: fool the updated discriminator, keep the photo's content.
        let g_adv = l.loss(self.d.forward(generated.clone()), 1.0);
        let content = self.content.forward(photos, generated);
        let (adv_value, content_value) = (scalar(&g_adv), scalar(&content));
        let g_loss = g_adv + content;
        let g_value = scalar(&g_loss);
        let grads = GradientsParams::from_grads(g_loss.backward(), &self.g);
        let grads = GradSync::mean(self.sync, grads, &self.g);
        self.g = self.opt_g.step(self.lr, self.g.clone(), grads);
        vec![
            ("d_loss".into(), d_value),
            ("g_adv".into(), adv_value),
            ("content".into(), content_value),
            ("g_loss".into(), g_value),
        ]
    }
}

impl<B: AutodiffBackend> GanModel<B> for CartoonGan<B> {
    fn name(&self) -> &'static str {
        NAME
    }

    fn train_step(&mut self, batch: &HostBatch, phase: Phase) -> Result<Losses, TrainError> {
        let (n, s) = (batch.n, batch.size);
        let photos = self.tensor(&batch.photos, n, s);
        let cartoons = self.tensor(&batch.cartoons, n, s);
        let smoothed = self.tensor(&batch.smoothed, n, s);
        Ok(self.step_tensors(photos, cartoons, smoothed, phase))
    }

    fn visuals(&self, photos: &[f32], n: usize, size: usize) -> Vec<f32> {
        let g = self.g.valid();
        translate_planes(photos, n, size, &self.device, |x| g.forward(x))
    }

    fn save_state(&self, dir: &Path) -> Result<(), TrainError> {
        save_pair(dir, ("generator", &self.g), ("optim_g", &self.opt_g))?;
        save_pair(dir, ("discriminator", &self.d), ("optim_d", &self.opt_d))
    }

    fn load_state(&mut self, dir: &Path) -> Result<(), TrainError> {
        let device = &self.device;
        load_pair(
            dir,
            ("generator", &mut self.g),
            ("optim_g", &mut self.opt_g),
            device,
        )?;
        load_pair(
            dir,
            ("discriminator", &mut self.d),
            ("optim_d", &mut self.opt_d),
            device,
        )
    }

    fn set_grad_sync(&mut self, sync: GradSync) -> Result<(), TrainError> {
        self.sync = Some(sync);
        Ok(())
    }

    fn save_generator(&self, path: &Path) -> Result<(), TrainError> {
        crate::weights::save_generator(&self.g.valid(), &self.g_config, path)
            .map_err(|e| TrainError::checkpoint(path, e))
    }
}
