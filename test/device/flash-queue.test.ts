import { describe, test, expect } from "@devicescript/test"
import { deleteSetting, writeSetting } from "@devicescript/settings"
import {
    blockKey,
    deviceSettings,
    FLASH_QUEUE_KEY,
    FlashQueue,
    KeptReading,
    SettingsStore,
} from "../../src/flash-queue"
import { SEQ_KEY, SeqCounter } from "../../src/seq-counter"

const POWER_CUT = "power cut"

/**
 * The device's settings, with a power cut after `cutAfter` writes: every
 * later write fails and writes nothing. `onCommit` sees each record write.
 */
class CuttableStore implements SettingsStore {
    writes = 0
    cutAfter = 1e9
    onCommit: () => void = undefined

    async read(key: string, missing: any) {
        return await deviceSettings.read(key, missing)
    }

    async write(key: string, value: any) {
        if (this.writes >= this.cutAfter) throw new Error(POWER_CUT)
        await deviceSettings.write(key, value)
        this.writes++
        if (key === FLASH_QUEUE_KEY && this.onCommit) this.onCommit()
    }
}

/** An erased settings area, as far as the queue and the counter go. */
async function erase(slots: number) {
    await deleteSetting(FLASH_QUEUE_KEY)
    await deleteSetting(SEQ_KEY)
    for (let i = 0; i < slots; i++) await deleteSetting(blockKey(i))
}

/** A reading whose text makes two of them fill a block. */
function reading(seq: number): KeptReading {
    return {
        seq,
        time: 1795660000000 + seq * 60000,
        estimated: seq % 3 === 0,
        values: {
            temperature: 20 + seq / 4,
            note: "padding-padding-padding-padding-padding-" + seq,
        },
    }
}

function readings(from: number, to: number): KeptReading[] {
    const out: KeptReading[] = []
    for (let s = from; s <= to; s++) out.push(reading(s))
    return out
}

/** A queue's state as text: its seqs and its drop count. */
function stateOf(q: FlashQueue): string {
    return `${q.seqs().join(",")} d${q.dropped}`
}

/** Appends (a list of seqs to add) and removals (`-n`: trim below n). */
const OPS: number[][] = [
    [1, 2, 3],
    [4],
    [-3],
    [5, 6, 7, 8],
    [9],
    [-7],
    [10, 11, 12, 13, 14],
    [15],
    [16],
    [-16],
    [17, 18],
    [-19],
    [19],
]
const SLOTS = 4
const CAPACITY = 6

async function apply(q: FlashQueue, op: number[]) {
    if (op[0] < 0) await q.trim(-op[0])
    else await q.append(readings(op[0], op[op.length - 1]))
}

describe("FlashQueue", () => {
    test("a power cut after any flash write leaves a committed state, never a torn one", async () => {
        // the run without a cut: the states each op commits, and its writes
        await erase(SLOTS)
        const ref = new CuttableStore()
        const q = new FlashQueue(CAPACITY, ref, SLOTS)
        await q.load()
        const before: string[] = []
        const committed: string[][] = []
        const firstWrite: number[] = []
        let current: string[] = []
        ref.onCommit = () => current.push(stateOf(q))
        for (const op of OPS) {
            before.push(stateOf(q))
            firstWrite.push(ref.writes)
            current = []
            await apply(q, op)
            committed.push(current)
        }
        const final = stateOf(q)
        expect(final).toBe("19 d6")
        const total = ref.writes
        expect(total > OPS.length).toBe(true)
        // the same ops, cut after each write in turn, then a reboot
        for (let cut = 0; cut < total; cut++) {
            await erase(SLOTS)
            const store = new CuttableStore()
            store.cutAfter = cut
            let j = 0
            const dev = new FlashQueue(CAPACITY, store, SLOTS)
            await dev.load()
            try {
                for (; j < OPS.length; j++) await apply(dev, OPS[j])
            } catch (e) {
                expect((e as Error).message).toBe(POWER_CUT)
            }
            expect(j < OPS.length).toBe(true)
            const booted = new FlashQueue(CAPACITY, new CuttableStore(), SLOTS)
            await booted.load()
            const got = stateOf(booted)
            const allowed = committed[j].slice(0)
            allowed.push(before[j])
            if (allowed.indexOf(got) < 0) {
                console.log(`cut after write ${cut} in op ${j}: ${got}`)
                console.log(`allowed: ${allowed.join(" | ")}`)
            }
            expect(allowed.indexOf(got) >= 0).toBe(true)
            expect(booted.lostBlocks).toBe(0)
            // the device goes on: the interrupted op again unless it had
            // committed, then the rest; it ends where the uncut run did
            const done = committed[j]
            const k = done.length && got === done[done.length - 1] ? j + 1 : j
            for (let i = k; i < OPS.length; i++) await apply(booted, OPS[i])
            expect(stateOf(booted)).toBe(final)
        }
    })
    test("the readings come back exactly, times estimated or not", async () => {
        await erase(SLOTS)
        const q = new FlashQueue(10)
        await q.load()
        const rs = readings(1, 4)
        rs.push({
            seq: 5,
            time: 0,
            estimated: false,
            values: { humidity: 41.25, ok: true },
        })
        expect(await q.append(rs)).toBe(5)
        const back = await new FlashQueue(10).load()
        expect(back.length).toBe(5)
        for (let i = 0; i < 4; i++) {
            expect(back[i].seq).toBe(i + 1)
            expect(back[i].time).toBe(rs[i].time)
            expect(back[i].estimated).toBe(rs[i].estimated)
            expect(JSON.stringify(back[i].values)).toBe(
                JSON.stringify(rs[i].values)
            )
        }
        expect(back[4].time).toBe(0)
        expect(JSON.stringify(back[4].values)).toBe(
            '{"humidity":41.25,"ok":true}'
        )
    })
    test("capacity: the oldest are dropped and counted, across reboots", async () => {
        await erase(SLOTS)
        const q = new FlashQueue(5)
        await q.load()
        for (let s = 1; s <= 8; s++) await q.append([reading(s)])
        expect(q.size()).toBe(5)
        expect(q.dropped).toBe(3)
        const again = new FlashQueue(5)
        const back = await again.load()
        expect(back.map(r => r.seq).join(",")).toBe("4,5,6,7,8")
        expect(again.dropped).toBe(3)
        // a group larger than the queue keeps its newest
        await again.append(readings(9, 15))
        expect(again.seqs().join(",")).toBe("11,12,13,14,15")
        expect(again.dropped).toBe(10)
    })
    test("out of slots: one reading per wake still keeps the newest", async () => {
        await erase(3)
        const q = new FlashQueue(50, deviceSettings, 3)
        await q.load()
        for (let s = 1; s <= 5; s++) await q.append([reading(s)])
        expect(q.seqs().join(",")).toBe("3,4,5")
        expect(q.dropped).toBe(2)
        const back = new FlashQueue(50, deviceSettings, 3)
        expect((await back.load()).map(r => r.seq).join(",")).toBe("3,4,5")
    })
    test("a group is written as few blocks plus one record", async () => {
        await erase(SLOTS)
        const store = new CuttableStore()
        const q = new FlashQueue(10, store)
        await q.load()
        await q.append(readings(1, 4)) // two readings to a block
        expect(store.writes).toBe(3)
        await q.trim(1) // nothing below 1: no write
        expect(store.writes).toBe(3)
        await q.trim(3)
        expect(store.writes).toBe(4)
        expect(q.seqs().join(",")).toBe("3,4")
    })
    test("a reading too large for a setting is kept out, the others go in", async () => {
        await erase(SLOTS)
        const q = new FlashQueue(10)
        await q.load()
        let big = ""
        for (let i = 0; i < 30; i++) big += "0123456789"
        const n = await q.append([
            reading(1),
            { seq: 2, time: 0, estimated: false, values: { text: big } },
            reading(3),
        ])
        expect(n).toBe(2)
        expect(
            (await new FlashQueue(10).load()).map(r => r.seq).join(",")
        ).toBe("1,3")
    })
    test("a garbled record is an empty queue; a foreign block is not read", async () => {
        await erase(SLOTS)
        await writeSetting(FLASH_QUEUE_KEY, "nonsense")
        expect((await new FlashQueue(10).load()).length).toBe(0)
        await writeSetting(FLASH_QUEUE_KEY, { g: 3, h: 0, n: 1, k: 0, d: 0 })
        await writeSetting(blockKey(0), [7, ["t"], [1, 0, 5]]) // tag above g
        const q = new FlashQueue(10)
        expect((await q.load()).length).toBe(0)
        expect(q.lostBlocks).toBe(1)
    })
})

describe("SeqCounter", () => {
    test("seq continues across boots", async () => {
        await erase(0)
        const a = new SeqCounter()
        expect(await a.load()).toBe(1)
        expect(await a.take()).toBe(1)
        expect(await a.take()).toBe(2)
        const b = new SeqCounter() // a reboot
        expect(await b.load()).toBe(3)
        expect(await b.take()).toBe(3)
    })
    test("a power cut before the write gives the same number again, never a used one twice", async () => {
        await erase(0)
        const store = new CuttableStore()
        const a = new SeqCounter(store)
        await a.load()
        expect(await a.take()).toBe(1)
        store.cutAfter = store.writes
        let cut = false
        try {
            await a.take()
        } catch (e) {
            cut = true
        }
        expect(cut).toBe(true)
        // the number was not recorded as used, so it was not used either
        const b = new SeqCounter()
        expect(await b.load()).toBe(2)
    })
})
