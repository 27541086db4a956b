// Loaded before every test file. tfjs-core alone registers no gradients; the
// union package and tfjs-layers do (tfjs-layers' Node bundle registers them all).
// Never deep-import '@tensorflow/tfjs-core/dist/...' here: under Node that loads a
// second (ESM) copy of tfjs-core's modules next to the CJS main entry.
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
