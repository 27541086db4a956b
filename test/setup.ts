// Loaded before every test file: tfjs-core alone registers no gradients,
// the union package and tfjs-layers do. Register them the same way here.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
