import { writeSettingChecked, settingProblem } from "./config"
import { ReadingValue } from "./payload"
import { readSettingBounded, SETTING_READ_TIMEOUT_MS } from "./settings-read"
import { within } from "./within"

/** Settings key of the flash queue's record (head, blocks, generation). */
export const FLASH_QUEUE_KEY = "FQ"
/**
 * Settings that hold blocks of readings: `FQ_0` ... `FQ_39`, used as a
 * ring. Their worst case (40 x (200 + 24 bytes of store entry)) is 9 KB of
 * the 16 KB settings area, beside the token and the configuration.
 */
export const FLASH_SLOTS = 40
/** Largest JSON value of a block, in bytes (the runtime's limit is 232 with the key). */
export const MAX_BLOCK_JSON = 200

/** Settings key of block slot `i`. */
export function blockKey(i: number): string {
    return `${FLASH_QUEUE_KEY}_${i}`
}

/** A reading as the flash queue keeps it. */
export interface KeptReading {
    seq: number
    /** wall-clock epoch ms; 0 when unknown */
    time: number
    /** the time is an estimate (sleeps counted since the last server time) */
    estimated: boolean
    values: Record<string, ReadingValue>
}

/** Where the queue reads and writes settings: the device's, or a test's. */
export interface SettingsStore {
    read(key: string, missing: any): Promise<any>
    /** writes a setting; throws RangeError for one the runtime cannot read back */
    write(key: string, value: any): Promise<void>
}

/**
 * Writes a setting (checked in size), waiting at most `timeoutMs` for the
 * settings service: like a read, a write waits for its answer without a
 * timeout of its own, and a device must not stay awake on one. Throws on
 * timeout (the write may still happen: callers write parts before records).
 */
export async function writeSettingBounded(
    key: string,
    value: any,
    timeoutMs = SETTING_READ_TIMEOUT_MS
) {
    const r = await within(
        async () => await writeSettingChecked(key, value),
        timeoutMs
    )
    if (!r)
        throw new Error(`settings: no answer writing ${key} in ${timeoutMs} ms`)
    if (r.error) throw r.error
}

/** The device's settings, reads and writes bounded in time, writes checked in size. */
export const deviceSettings: SettingsStore = {
    read: readSettingBounded,
    write: writeSettingBounded,
}

/**
 * The record under {@link FLASH_QUEUE_KEY}: `g` the generation of this
 * commit, `h` the slot of the oldest block, `n` blocks held, `k` readings
 * of the oldest block already gone, `d` readings dropped for lack of room
 * (cumulative, across boots).
 */
interface QueueRecord {
    g: number
    h: number
    n: number
    k: number
    d: number
}

/** What the queue knows of one block: its slot and its readings' seqs. */
interface BlockInfo {
    slot: number
    seqs: number[]
}

function isWhole(v: any, min: number, max: number): boolean {
    return typeof v === "number" && v >= min && v <= max && Math.floor(v) === v
}

/**
 * `[tag, names, [seq, time, value...], ...]`: `time` 0 when unknown,
 * negative when estimated; a value is null under a name the reading lacks.
 */
function encodeBlock(tag: number, readings: KeptReading[]): any[] {
    const names: string[] = []
    for (const r of readings)
        for (const k of Object.keys(r.values))
            if (names.indexOf(k) < 0) names.push(k)
    const out: any[] = [tag, names]
    for (const r of readings) {
        const t = r.time > 0 ? Math.floor(r.time) : 0
        const row: any[] = [r.seq, r.estimated ? -t : t]
        for (const k of names) {
            const v = r.values[k]
            row.push(v === undefined ? null : v)
        }
        out.push(row)
    }
    return out
}

/** The readings of a block value, or undefined when it is not one. */
function decodeBlock(v: any): KeptReading[] {
    if (!Array.isArray(v) || v.length < 3 || !Array.isArray(v[1]))
        return undefined
    const names = v[1] as string[]
    const out: KeptReading[] = []
    for (let i = 2; i < v.length; i++) {
        const row = v[i]
        if (!Array.isArray(row) || row.length !== names.length + 2)
            return undefined
        const seq = row[0]
        const t = row[1]
        if (!isWhole(seq, 1, 0xffffffff) || typeof t !== "number")
            return undefined
        const values: Record<string, ReadingValue> = {}
        for (let j = 0; j < names.length; j++)
            if (row[j + 2] !== null) values[names[j]] = row[j + 2]
        out.push({ seq, time: t < 0 ? -t : t, estimated: t < 0, values })
    }
    return out
}

/**
 * A bounded first-in first-out queue of readings in flash settings, that
 * survives a reboot, a deep sleep, a firmware update and a power cut at
 * any moment. Readings are written in groups, as blocks of up to
 * {@link MAX_BLOCK_JSON} bytes in a ring of {@link FLASH_SLOTS} settings;
 * one record names the ring's oldest block, how many blocks it holds and
 * the generation they belong to. As in the token store, the parts (the
 * new blocks, each tagged with the generation that will name it) are
 * written first and the record last: a power cut before the record leaves
 * blocks in free slots that no record names, so an append is all or
 * nothing, and a removal is one record write. A block a record names is
 * never written over: when the ring is full the record that drops its
 * oldest blocks is committed first. Beyond `capacity` readings (or when
 * the ring is out of slots) the oldest are dropped and counted in
 * {@link dropped}, which is kept in the record across boots.
 */
export class FlashQueue {
    private g = 0
    private h = 0
    private k = 0
    private blocks: BlockInfo[] = []
    /** Blocks the record in flash names (their slots must not be written). */
    private committedN = 0
    /** Readings dropped for lack of room (kept across boots). */
    dropped = 0
    /** Blocks found unreadable at load (a corrupted flash), their readings lost. */
    lostBlocks = 0

    constructor(
        readonly capacity: number,
        readonly store: SettingsStore = deviceSettings,
        readonly slots = FLASH_SLOTS
    ) {
        if (!isWhole(capacity, 1, 0x7fffffff))
            throw new RangeError(`flash queue capacity must be an integer >= 1`)
        if (!isWhole(slots, 2, 1000))
            throw new RangeError(`flash queue needs 2..1000 slots`)
    }

    /** Number of readings held. */
    size(): number {
        let n = 0
        for (const b of this.blocks) n += b.seqs.length
        return n - this.k
    }

    /** The seq of every reading held, oldest first. */
    seqs(): number[] {
        const out: number[] = []
        for (const b of this.blocks) for (const s of b.seqs) out.push(s)
        return out.slice(this.k)
    }

    /**
     * Reads the queue from flash; returns its readings, oldest first. A
     * missing or garbled record is an empty queue; a block that does not
     * carry the generation its record expects ends the queue there (and
     * is counted in {@link lostBlocks}).
     */
    async load(): Promise<KeptReading[]> {
        this.g = 0
        this.h = 0
        this.k = 0
        this.blocks = []
        this.committedN = 0
        this.dropped = 0
        const rec: QueueRecord = await this.store.read(FLASH_QUEUE_KEY, null)
        if (
            !rec ||
            typeof rec !== "object" ||
            !isWhole(rec.g, 1, 0x7ffffffe) ||
            !isWhole(rec.h, 0, this.slots - 1) ||
            !isWhole(rec.n, 0, this.slots) ||
            !isWhole(rec.k, 0, 10000) ||
            !isWhole(rec.d, 0, 0x7fffffff)
        )
            return []
        this.g = rec.g
        this.h = rec.h
        this.committedN = rec.n
        this.dropped = rec.d
        const out: KeptReading[] = []
        let lastTag = 0
        for (let i = 0; i < rec.n; i++) {
            const slot = (rec.h + i) % this.slots
            const v = await this.store.read(blockKey(slot), null)
            const rs = decodeBlock(v)
            const tag = rs ? v[0] : -1
            if (!rs || !isWhole(tag, Math.max(1, lastTag), rec.g)) {
                this.lostBlocks = rec.n - i
                console.warn(
                    `flash queue: block ${blockKey(slot)} unreadable, ${rec.n - i} blocks lost`
                )
                break
            }
            lastTag = tag
            this.blocks.push({ slot, seqs: rs.map(r => r.seq) })
            for (let j = i === 0 ? rec.k : 0; j < rs.length; j++)
                out.push(rs[j])
        }
        const head = this.blocks[0]
        this.k = head && rec.k < head.seqs.length ? rec.k : 0
        return out
    }

    /** Commits the record of the current state (one flash write). */
    private async commit() {
        this.g++
        const rec: QueueRecord = {
            g: this.g,
            h: this.h,
            n: this.blocks.length,
            k: this.k,
            d: this.dropped,
        }
        await this.store.write(FLASH_QUEUE_KEY, rec)
        this.committedN = this.blocks.length
    }

    /** Forgets the oldest reading (in RAM; the next commit records it). */
    private dropOldest() {
        const head = this.blocks[0]
        this.k++
        if (this.k >= head.seqs.length) {
            this.blocks.shift()
            this.h = (this.h + 1) % this.slots
            this.k = 0
        }
    }

    /**
     * Splits `readings` into blocks that each fit one setting; a reading
     * too large to fit alone is left out (returned in `refused`).
     */
    private pack(
        readings: KeptReading[],
        tag: number
    ): { groups: KeptReading[][]; refused: number } {
        const groups: KeptReading[][] = []
        let refused = 0
        let cur: KeptReading[] = []
        for (const r of readings) {
            const next = cur.slice(0)
            next.push(r)
            if (this.fits(next, tag)) {
                cur = next
                continue
            }
            if (cur.length) groups.push(cur)
            cur = []
            if (this.fits([r], tag)) cur = [r]
            else refused++
        }
        if (cur.length) groups.push(cur)
        return { groups, refused }
    }

    private fits(readings: KeptReading[], tag: number): boolean {
        const v = encodeBlock(tag, readings)
        const json = JSON.stringify(v)
        return (
            json.byteLength <= MAX_BLOCK_JSON &&
            settingProblem(blockKey(this.slots - 1), v) === null
        )
    }

    /**
     * Appends `readings` (oldest first, seqs increasing) as one group:
     * their blocks, then the record. Drops the oldest readings held when
     * the queue would exceed its capacity or its slots. Returns how many
     * were kept: a reading too large for one setting is not (it is logged).
     */
    async append(readings: KeptReading[]): Promise<number> {
        const over = readings.length - this.capacity
        if (over > 0) {
            // more than the queue holds: only the newest fit
            readings = readings.slice(over)
            this.dropped += over
        }
        if (!readings.length) return 0
        const { groups, refused } = this.pack(readings, this.g + 2)
        if (refused)
            console.warn(
                `flash queue: ${refused} reading(s) too large for one setting, kept in RAM only`
            )
        let adding = 0
        for (const gr of groups) adding += gr.length
        if (!adding) return 0
        const before = this.dropped
        while (this.size() > 0 && this.size() + adding > this.capacity) {
            this.dropOldest()
            this.dropped++
        }
        while (this.blocks.length + groups.length > this.slots) {
            // out of slots: the oldest block goes whole
            this.dropped += this.blocks[0].seqs.length - this.k
            this.blocks.shift()
            this.h = (this.h + 1) % this.slots
            this.k = 0
        }
        // the new blocks follow the committed ones; they may not reuse a
        // slot the committed record names: commit the drops first
        if (this.committedN + groups.length > this.slots) await this.commit()
        const g = this.g + 1
        let slot = (this.h + this.blocks.length) % this.slots
        for (const rows of groups) {
            await this.store.write(blockKey(slot), encodeBlock(g, rows))
            this.blocks.push({ slot, seqs: rows.map(r => r.seq) })
            slot = (slot + 1) % this.slots
        }
        await this.commit()
        if (this.dropped > before)
            console.warn(
                `flash queue: full, dropped the oldest (${this.dropped} dropped in all)`
            )
        return adding
    }

    /**
     * Removes every reading whose seq is below `seq` (they were delivered
     * or dropped from RAM): one record write, none when nothing changes.
     */
    async trim(seq: number) {
        let changed = false
        while (this.blocks.length && this.blocks[0].seqs[this.k] < seq) {
            this.dropOldest()
            changed = true
        }
        if (changed) await this.commit()
    }
}
