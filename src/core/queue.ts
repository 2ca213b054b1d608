/** A first-in first-out queue with O(1) `shift`, for buffers that ops hold. */
export class Queue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Removes and returns the oldest item; the queue must not be empty. */
  shift(): T {
    const item = this.items[this.head] as T;
    this.items[this.head++] = undefined as T;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** The oldest item, or undefined when empty. */
  peekFirst(): T | undefined {
    return this.length === 0 ? undefined : this.items[this.head];
  }

  /** The newest item, or undefined when empty. */
  peekLast(): T | undefined {
    return this.length === 0 ? undefined : this.items[this.items.length - 1];
  }

  /** The items, oldest first. */
  toArray(): T[] {
    return this.items.slice(this.head);
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
