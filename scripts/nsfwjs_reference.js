// Reference outputs of nsfwjs's MobileNetV2 "mid" model in TF.js, for the converter's parity test
// (tests/model/test_nsfwjs.py). Run once; the output is committed:
//   npm install @tensorflow/tfjs@4.22.0 nsfwjs@4.4.0
//   node scripts/nsfwjs_reference.js | tail -1 > tests/model/nsfwjs_reference.json  (nsfwjs prints a line first)
// The inputs are integer formulas the test computes again in numpy (tests/model/test_nsfwjs.py::inputs).
const tf = require("@tensorflow/tfjs");
const nsfwjs = require("nsfwjs");

const SIZE = 224;
const PREFIX = "StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/" +
  "StatefulPartitionedCall/StatefulPartitionedCall/predict/";
const NODES = [PREFIX + "MobilenetV2/Conv_1/Relu6", PREFIX + "feature_vector/SpatialSqueeze", "Identity"];

function pixel(kind, y, x, c) {
  if (kind === 0) return (x * 7 + y * 13 + c * 29) % 256; // stripes
  if (kind === 1) return [Math.floor((x * 255) / 223), Math.floor((y * 255) / 223), Math.floor(((x + y) * 255) / 446)][c];
  return ((Math.floor(x / 16) + Math.floor(y / 16)) % 2 ? 220 : 30) - c * 10; // a checkerboard
}

async function main() {
  await tf.setBackend("cpu");
  const model = await nsfwjs.load("MobileNetV2Mid", { size: SIZE });
  const values = new Float32Array(3 * SIZE * SIZE * 3);
  let i = 0;
  for (let b = 0; b < 3; b++)
    for (let y = 0; y < SIZE; y++)
      for (let x = 0; x < SIZE; x++) for (let c = 0; c < 3; c++) values[i++] = pixel(b, y, x, c) / 255;
  const input = tf.tensor4d(values, [3, SIZE, SIZE, 3]);
  const [features, pooled, probs] = model.model.execute(input, NODES);
  // the feature map's first 16 channels at every position (NHWC), enough to check its layout
  const corner = features.slice([0, 0, 0, 0], [3, 7, 7, 16]);
  console.log(JSON.stringify({
    made_with: { tfjs: tf.version.tfjs, nsfwjs: "4.4.0", model: "MobileNetV2Mid", backend: tf.getBackend() },
    inputs: ["stripes", "gradient", "checkerboard"],
    features_first16: await corner.array(),
    pooled: await pooled.array(),
    nudity: await probs.array(),
  }));
}

main();
