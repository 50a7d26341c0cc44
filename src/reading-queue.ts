import { ReadingValue } from "./payload"

/** A reading as the queue keeps it. */
export interface StoredReading {
    seq: number
    /** uptime ms when taken; with `wall`, epoch ms instead (0: unknown) */
    takenAt: number
    values: Record<string, ReadingValue>
    /** `takenAt` is wall-clock time (a reading from before this boot) */
    wall?: boolean
    /** that wall-clock time is an estimate (battery mode, between posts) */
    estimated?: boolean
}

/** Flags of a reading (byte 13 of its record). */
const WALL = 1
const ESTIMATED = 2

/** Number values kept in place per reading (sensors give two today). */
export const VALUE_SLOTS = 4
/** Bytes per reading: takenAt f64, seq u32, presence mask u8, flags u8, pad, values f64. */
const RECORD = 16 + 8 * VALUE_SLOTS
/** Mask of a reading kept as an object instead (a string value, a fifth name). */
const AS_OBJECT = 0xff

/**
 * Bounded first-in first-out queue of readings in one buffer, 48 bytes a
 * reading: as objects a reading costs about 160 bytes of the 64 KB heap
 * (measured in the VM), so a full queue of 256 took 41 KB and left too
 * little for a request. Numbers under up to {@link VALUE_SLOTS} names
 * (learned as they come) are kept in place; any other reading is kept as
 * its object. When full, `push` drops the oldest and counts it in
 * `dropped`. `peek`, `at` and `shift` give back a new object each time.
 */
export class ReadingQueue {
    private readonly buf: Buffer
    private names: string[] = []
    /** readings kept as objects, by seq */
    private objects: StoredReading[] = []
    private head = 0
    private count = 0
    /** Readings dropped because the queue was full, since creation. */
    dropped = 0

    constructor(readonly capacity: number) {
        if (!(capacity >= 1) || Math.floor(capacity) !== capacity)
            throw new RangeError(`queue capacity must be an integer >= 1`)
        this.buf = Buffer.alloc(capacity * RECORD)
    }

    /** Number of readings held. */
    size() {
        return this.count
    }

    /** The slot of `name`, learning it if there is room; -1 when there is none. */
    private slot(name: string, learn: boolean): number {
        const i = this.names.indexOf(name)
        if (i >= 0 || !learn) return i
        if (this.names.length >= VALUE_SLOTS) return -1
        this.names.push(name)
        return this.names.length - 1
    }

    /** Appends `r`; returns the dropped oldest reading when full, else undefined. */
    push(r: StoredReading): StoredReading {
        let lost: StoredReading = undefined
        if (this.count === this.capacity) {
            lost = this.shift()
            this.dropped++
        }
        const at = ((this.head + this.count) % this.capacity) * RECORD
        const b = this.buf
        b.fillAt(at, RECORD, 0)
        b.setAt(at, "f64", r.takenAt)
        b.setAt(at + 8, "u32", r.seq)
        let mask = 0
        for (const k of Object.keys(r.values)) {
            const v = r.values[k]
            const s = typeof v === "number" ? this.slot(k, true) : -1
            if (s < 0) {
                mask = AS_OBJECT
                break
            }
            mask |= 1 << s
            b.setAt(at + 16 + 8 * s, "f64", v as number)
        }
        b.setAt(at + 12, "u8", mask)
        b.setAt(
            at + 13,
            "u8",
            (r.wall ? WALL : 0) | (r.estimated ? ESTIMATED : 0)
        )
        if (mask === AS_OBJECT) this.objects.push(r)
        this.count++
        return lost
    }

    private read(i: number): StoredReading {
        const at = ((this.head + i) % this.capacity) * RECORD
        const b = this.buf
        const seq = b.getAt(at + 8, "u32")
        const mask = b.getAt(at + 12, "u8")
        if (mask === AS_OBJECT) {
            for (const o of this.objects) if (o.seq === seq) return o
        }
        const values: Record<string, ReadingValue> = {}
        for (let s = 0; s < this.names.length; s++)
            if (mask & (1 << s))
                values[this.names[s]] = b.getAt(at + 16 + 8 * s, "f64")
        const flags = b.getAt(at + 13, "u8")
        const r: StoredReading = { seq, takenAt: b.getAt(at, "f64"), values }
        if (flags & WALL) r.wall = true
        if (flags & ESTIMATED) r.estimated = true
        return r
    }

    /** The oldest reading, not removed; undefined when empty. */
    peek(): StoredReading {
        return this.at(0)
    }

    /** The `i`-th oldest reading (0 is the oldest), not removed; undefined past the end. */
    at(i: number): StoredReading {
        if (!(i >= 0) || i >= this.count) return undefined
        return this.read(i)
    }

    /** Removes and returns the oldest reading; undefined when empty. */
    shift(): StoredReading {
        if (this.count === 0) return undefined
        const r = this.read(0)
        if (this.buf.getAt(this.head * RECORD + 12, "u8") === AS_OBJECT)
            this.objects = this.objects.filter(o => o.seq !== r.seq)
        this.head = (this.head + 1) % this.capacity
        this.count--
        return r
    }

    /** Removes every reading (the drop count is kept). */
    clear() {
        this.objects = []
        this.head = 0
        this.count = 0
    }
}
