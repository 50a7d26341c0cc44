/**
 * Bounded first-in first-out buffer (a ring). When full, `push` drops the
 * oldest item and counts it in `dropped`.
 */
export class BoundedQueue<T> {
    private items: T[] = []
    private head = 0
    private count = 0
    /** Items dropped because the queue was full, since creation. */
    dropped = 0

    constructor(readonly capacity: number) {
        if (!(capacity >= 1) || Math.floor(capacity) !== capacity)
            throw new RangeError(`queue capacity must be an integer >= 1`)
    }

    /** Number of items held. */
    size() {
        return this.count
    }

    /** Appends `item`; returns the dropped oldest item when full, else undefined. */
    push(item: T): T {
        let lost: T = undefined
        if (this.count === this.capacity) {
            lost = this.items[this.head]
            this.head = (this.head + 1) % this.capacity
            this.count--
            this.dropped++
        }
        this.items[(this.head + this.count) % this.capacity] = item
        this.count++
        return lost
    }

    /** The oldest item, not removed; undefined when empty. */
    peek(): T {
        if (this.count === 0) return undefined
        return this.items[this.head]
    }

    /** The `i`-th oldest item (0 is the oldest), not removed; undefined past the end. */
    at(i: number): T {
        if (!(i >= 0) || i >= this.count) return undefined
        return this.items[(this.head + i) % this.capacity]
    }

    /** Removes and returns the oldest item; undefined when empty. */
    shift(): T {
        if (this.count === 0) return undefined
        const it = this.items[this.head]
        this.items[this.head] = undefined
        this.head = (this.head + 1) % this.capacity
        this.count--
        return it
    }

    /** Removes every item (the drop count is kept). */
    clear() {
        this.items = []
        this.head = 0
        this.count = 0
    }
}
