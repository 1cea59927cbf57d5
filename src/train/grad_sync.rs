//! Gradient averaging between data-parallel replicas ([`super::data_parallel`]): after each
//! backward pass and before the optimizer step, every gradient of the module is replaced by its
//! mean over the replicas, with burn-collective's all-reduce (`ReduceOperation::Mean`). With
//! equal shares of the batch and losses that average over the batch, that mean is the
//! gradient of the whole batch, so every replica takes the same optimizer step and the
//! replicas stay equal.
//!
//! Without the `collective` feature there is no data-parallel training and no [`GradSync`] is
//! ever set, so [`GradSync::mean`] returns the gradients unchanged.
//!
//! Gradients are matched by the order in which the module visits its parameters (the same on
//! every replica, which builds the same networks), not by parameter id: ids are random per
//! process and per replica.

use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::tensor::backend::AutodiffBackend;

/// This replica's place in the collective; models given one average their gradients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GradSync {
    /// The replica's index (0 for the first replica), its burn-collective peer id.
    pub index: usize,
}

impl GradSync {
    /// The sync of replica `index`.
    pub fn new(index: usize) -> Self {
        Self { index }
    }

    /// `grads` of `module` averaged over the replicas, or unchanged without a sync (one
    /// device). A failed all-reduce means the replicas disagree on the model, which is a bug:
    /// it panics, and the data-parallel driver reports the replica's panic as an error.
    pub fn mean<B: AutodiffBackend, M: AutodiffModule<B>>(
        sync: Option<Self>,
        grads: GradientsParams,
        module: &M,
    ) -> GradientsParams {
        match sync {
            None => grads,
            #[cfg(feature = "collective")]
            Some(sync) => collective::mean::<B, M>(sync.index, grads, module),
            #[cfg(not(feature = "collective"))]
            Some(_) => {
                let _ = module;
                unreachable!("no replica exists without the collective feature")
            }
        }
    }
}

#[cfg(feature = "collective")]
mod collective {
    use std::marker::PhantomData;

    use burn::module::{AutodiffModule, ModuleVisitor, Param};
    use burn::optim::GradientsParams;
    use burn::tensor::backend::AutodiffBackend;
    use burn::tensor::{Tensor, TensorPrimitive};
    use burn_collective::{PeerId, ReduceOperation, all_reduce};

    pub(super) fn mean<B: AutodiffBackend, M: AutodiffModule<B>>(
        index: usize,
        mut grads: GradientsParams,
        module: &M,
    ) -> GradientsParams {
        let mut visitor = MeanVisitor::<B> {
            grads: &mut grads,
            peer: PeerId::from(index),
            _backend: PhantomData,
        };
        module.visit(&mut visitor);
        grads
    }

    struct MeanVisitor<'a, B: AutodiffBackend> {
        grads: &'a mut GradientsParams,
        peer: PeerId,
        _backend: PhantomData<B>,
    }

    impl<B: AutodiffBackend> ModuleVisitor<B> for MeanVisitor<'_, B> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let Some(grad) = self.grads.remove::<B::InnerBackend, D>(param.id) else {
                return;
            };
            let mean = all_reduce::<B::InnerBackend>(
                self.peer,
                grad.into_primitive().tensor(),
                ReduceOperation::Mean,
            )
            .unwrap_or_else(|e| {
                panic!(
                    "replica {}: all-reduce of a gradient failed: {e:?}",
                    self.peer
                )
            });
            self.grads.register::<B::InnerBackend, D>(
                param.id,
                Tensor::from_primitive(TensorPrimitive::Float(mean)),
            );
        }
    }
}
