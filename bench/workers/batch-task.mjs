// The pool comparison's task: doubles a batch of numbers.
export default function double(batch) {
  const out = new Array(batch.length);
  for (let i = 0; i < batch.length; i++) out[i] = batch[i] * 2;
  return out;
}
