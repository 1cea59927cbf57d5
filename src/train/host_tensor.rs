//! Host image planes (NCHW in [-1, 1], RGB, as the data loader makes them) to tensors on a
//! model's device and back, written once for every model.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

/// `n` RGB images of `size`² as an NCHW tensor on `device`.
pub fn planes_tensor<B: Backend>(
    planes: &[f32],
    n: usize,
    size: usize,
    device: &B::Device,
) -> Tensor<B, 4> {
    Tensor::from_data(TensorData::new(planes.to_vec(), [n, 3, size, size]), device)
}

/// Runs `generator` (a network in inference mode) on `n` photos of `size`² and returns its
/// output as host planes (what [`super::GanModel::visuals`] returns).
pub fn translate_planes<B: Backend>(
    photos: &[f32],
    n: usize,
    size: usize,
    device: &B::Device,
    generator: impl FnOnce(Tensor<B, 4>) -> Tensor<B, 4>,
) -> Vec<f32> {
    let x = planes_tensor::<B>(photos, n, size, device);
    generator(x).into_data().to_vec::<f32>().unwrap_or_default()
}
