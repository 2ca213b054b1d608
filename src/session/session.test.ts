import { describe, expect, it } from "vitest";
import { InvalidArgumentError, RuntimeError, ValueError } from "../errors.js";
import { Graph } from "./graph.js";
import { Operation, group, noOp } from "./operation.js";
import { Session } from "./session.js";
import { computed, constant, placeholder, type Tensor } from "./tensor.js";
import { Variable } from "./variable.js";

/** A tensor that counts how often it is evaluated and gives the count. */
function counter(name = "counter"): { tensor: Tensor<number>; count: () => number } {
  let n = 0;
  return { tensor: computed(name, () => ++n), count: () => n };
}

describe("Session.run fetch structures", () => {
  const session = new Session();

  it("gives a tensor's value for a single tensor and null for an operation", async () => {
    expect(await session.run(constant(3))).toBe(3);
    expect(await session.run(noOp())).toBeNull();
  });

  it("gives an array for an array and a record for a record", async () => {
    expect(await session.run([constant(1), constant("a"), noOp()])).toEqual([1, "a", null]);
    expect(await session.run({ x: constant(1), done: noOp() })).toEqual({ x: 1, done: null });
  });

  it("gives nested structures back in the same shape", async () => {
    const result = await session.run({ a: [constant(1), { b: constant(2) }], c: [] });
    expect(result).toEqual({ a: [1, { b: 2 }], c: [] });
    const typed: { a: [number, { b: number }]; c: [] } = result;
    expect(typed.a[1].b).toBe(2);
  });

  it("rejects a fetch that is not a tensor or operation, naming what and where", async () => {
    const bad = session.run([constant(1), { loss: 42 as never }]);
    await expect(bad).rejects.toThrow(InvalidArgumentError);
    await expect(session.run([constant(1), { loss: 42 as never }])).rejects.toThrow(
      "Fetch argument 42 at fetches[1].loss has invalid type: session.run needs a Tensor, an Operation, or an array or record of them. " +
        "Fetch tensors and operations of the graph; wrap a plain value with constant(value).",
    );
    await expect(session.run(null as never)).rejects.toThrow("Fetch argument null at fetches has invalid type");
  });

  it("runs nothing when a fetch is invalid", async () => {
    let ran = false;
    const op = new Operation("op", () => {
      ran = true;
    });
    await expect(session.run([op, undefined as never])).rejects.toThrow(InvalidArgumentError);
    expect(ran).toBe(false);
  });
});

describe("one run scope per call", () => {
  it("evaluates a tensor at most once per run, however many fetches and readers it has", async () => {
    const session = new Session();
    const { tensor, count } = counter();
    const doubled = computed("doubled", async (run) => 2 * (await run.eval(tensor)));
    expect(await session.run([tensor, doubled, { again: tensor }])).toEqual([1, 2, { again: 1 }]);
    expect(count()).toBe(1);
    expect(await session.run(tensor)).toBe(2);
  });

  it("runs an operation at most once per run, even when fetched twice and grouped", async () => {
    const session = new Session();
    let runs = 0;
    const op = new Operation("op", () => {
      runs++;
    });
    await session.run([op, op, group(op)]);
    expect(runs).toBe(1);
  });

  it("runs operations one after another in fetch order, then reads the tensors", async () => {
    const session = new Session();
    const log: string[] = [];
    const slow = new Operation("slow", async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      log.push("slow");
    });
    const fast = new Operation("fast", () => {
      log.push("fast");
    });
    const read = computed("read", () => {
      log.push("read");
      return log.length;
    });
    expect(await session.run([read, slow, fast])).toEqual([3, null, null]);
    expect(log).toEqual(["slow", "fast", "read"]);
  });

  it("lets fetched variables see the assignments the run's operations made", async () => {
    const session = new Session();
    const w = new Variable("w", 1);
    const double = new Operation("double", () => w.assign(w.value * 2));
    expect(await session.run({ w, train: double })).toEqual({ w: 2, train: null });
  });

  it("lets an operation read a variable, assign it, and read the new value in the same run", async () => {
    const session = new Session();
    const w = new Variable("w", 1);
    const seen: number[] = [];
    const op = new Operation("op", async (run) => {
      seen.push(await run.eval(w));
      w.assign(5);
      seen.push(await run.eval(w));
    });
    await session.run(op);
    expect(seen).toEqual([1, 5]);
  });

  it("runs a group's members in order", async () => {
    const session = new Session();
    const log: string[] = [];
    const step = (name: string): Operation => new Operation(name, () => void log.push(name));
    await session.run(group(step("a"), step("b"), step("c")));
    expect(log).toEqual(["a", "b", "c"]);
  });

  it("reports a tensor that depends on itself instead of waiting forever", async () => {
    const session = new Session();
    const refs: { b?: Tensor<number> } = {};
    const a: Tensor<number> = computed("a", (run) => (refs.b === undefined ? 0 : run.eval(refs.b)));
    refs.b = computed("b", (run) => run.eval(a));
    await expect(session.run(a)).rejects.toThrow('Tensor "a" depends on itself: a -> b -> a.');
  });

  it("passes an operation's error to the caller and runs no later operation", async () => {
    const session = new Session();
    let later = false;
    const fail = new Operation("fail", () => {
      throw new Error("boom");
    });
    const after = new Operation("after", () => {
      later = true;
    });
    await expect(session.run([fail, after])).rejects.toThrow("boom");
    expect(later).toBe(false);
  });
});

describe("feeds", () => {
  it("replace a tensor's value for one run, without evaluating it", async () => {
    const session = new Session();
    const { tensor, count } = counter();
    const plusOne = computed("plusOne", async (run) => (await run.eval(tensor)) + 1);
    expect(await session.run([tensor, plusOne], new Map([[tensor, 10]]))).toEqual([10, 11]);
    expect(count()).toBe(0);
    expect(await session.run(tensor)).toBe(1);
  });

  it("accept an array of [tensor, value] pairs, and may feed a variable", async () => {
    const session = new Session();
    const w = new Variable("w", 1);
    expect(await session.run(w, [[w, 7]])).toBe(7);
    expect(w.value).toBe(1);
  });

  it("are required by a placeholder, whose error says how to feed it", async () => {
    const session = new Session();
    const x = placeholder<number>("x");
    expect(await session.run(x, new Map([[x, 4]]))).toBe(4);
    await expect(session.run(x)).rejects.toThrow(InvalidArgumentError);
    await expect(session.run(x)).rejects.toThrow('You must feed a value for placeholder tensor "x". Pass its value');
  });

  it("reject keys that are not tensors and tensors fed twice", async () => {
    const session = new Session();
    const x = constant(1, "x");
    await expect(session.run(x, new Map([[noOp() as never, 1]]))).rejects.toThrow(/^Cannot interpret feed key as Tensor: got Operation\("NoOp"\)/);
    await expect(
      session.run(x, [
        [x, 1],
        [x, 2],
      ]),
    ).rejects.toThrow('Tensor "x" is fed twice.');
    await expect(session.run(x, { x: 1 } as never)).rejects.toThrow("session.run(fetches, feedDict) needs a Map or an array of pairs; got an object.");
  });
});

describe("graphs and closing", () => {
  it("uses the default graph, or a new one when there is none", () => {
    const graph = new Graph();
    expect(graph.asDefault(() => new Session()).graph).toBe(graph);
    expect(new Session().graph).toBeInstanceOf(Graph);
    expect(new Session(graph).graph).toBe(graph);
  });

  it("refuses tensors and operations of another graph", async () => {
    const [mine, other] = [new Graph(), new Graph()];
    const foreign = other.asDefault(() => constant(1, "foreign"));
    const session = new Session(mine);
    await expect(session.run(foreign)).rejects.toThrow(ValueError);
    await expect(session.run([foreign])).rejects.toThrow('Tensor "foreign" is not an element of this graph.');
    await expect(session.run(constant(2))).resolves.toBe(2);
  });

  it("refuses to run once closed, and closing twice is harmless", async () => {
    const session = new Session();
    session.close();
    session.close();
    expect(session.closed).toBe(true);
    await expect(session.run(constant(1))).rejects.toThrow(RuntimeError);
    await expect(session.run(constant(1))).rejects.toThrow("Attempted to use a closed Session.");
  });
});
