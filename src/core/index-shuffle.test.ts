import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IndexPermutation } from "./index-shuffle.js";

describe("IndexPermutation", () => {
  it("is a bijection on [0, n) for any n and seed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer(), (n, seed) => {
        const p = new IndexPermutation(n, seed);
        const seen = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          const x = p.at(i);
          expect(x >= 0 && x < n && seen[x] === 0).toBe(true);
          seen[x] = 1;
        }
      }),
      { numRuns: 60, seed: 20261203 },
    );
  });

  it("looks random: no rank correlation with the identity, few fixed points, seeds differ", () => {
    const n = 10_000;
    for (const seed of [1, 2, 3]) {
      const p = new IndexPermutation(n, seed);
      let sum = 0;
      let fixed = 0;
      for (let i = 0; i < n; i++) {
        const d = p.at(i) - i;
        sum += d * d;
        if (d === 0) fixed++;
      }
      const rho = 1 - (6 * sum) / (n * (n * n - 1));
      expect(Math.abs(rho)).toBeLessThan(0.05);
      expect(fixed).toBeLessThan(10); // about 1 expected
    }
    const a = new IndexPermutation(n, 1);
    const b = new IndexPermutation(n, 2);
    let same = 0;
    for (let i = 0; i < n; i++) if (a.at(i) === b.at(i)) same++;
    expect(same).toBeLessThan(10);
  });

  it("covers 2^32 positions", () => {
    const p = new IndexPermutation(2 ** 32, 9);
    for (const i of [0, 1, 2 ** 31, 2 ** 32 - 1]) expect(p.at(i)).toBeLessThan(2 ** 32);
  });
});
