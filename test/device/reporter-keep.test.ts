import { describe, test, expect } from "@devicescript/test"
import { deleteSetting } from "@devicescript/settings"
import {
    blockKey,
    deviceSettings,
    FLASH_QUEUE_KEY,
    FLASH_SLOTS,
    FlashQueue,
    SettingsStore,
} from "../../src/flash-queue"
import { FlashKeeper } from "../../src/reading-keeper"
import { KeptReading } from "../../src/flash-queue"
import { SEQ_KEY } from "../../src/seq-counter"
import { Rig } from "./reporter-rig"
import { platformAnswer } from "./scripted-transport"

// The Reporter with readings kept in flash (the device's settings, erased
// first): what survives a reboot, and what the flash costs.

/** The device's settings, counting writes by key. */
class CountingStore implements SettingsStore {
    writes: string[] = []
    async read(key: string, missing: any) {
        return await deviceSettings.read(key, missing)
    }
    async write(key: string, value: any) {
        this.writes.push(key)
        await deviceSettings.write(key, value)
    }
}

async function erase() {
    await deleteSetting(FLASH_QUEUE_KEY)
    await deleteSetting(SEQ_KEY)
    for (let i = 0; i < FLASH_SLOTS; i++) await deleteSetting(blockKey(i))
}

function flashKeeper(store: SettingsStore = deviceSettings) {
    return new FlashKeeper(new FlashQueue(32, store))
}

/** The seqs of the readings published, in order (not the version report). */
function seqs(rig: Rig): string {
    return rig.published
        .filter(p => p.seq > 0)
        .map(p => p.seq)
        .join(",")
}

/** `n` readings a previous boot kept in flash (groups of 8), seq 1..n. */
async function keepBacklog(n: number) {
    const q = new FlashQueue(32)
    await q.load()
    for (let i = 0; i < n; i += 8) {
        const group: KeptReading[] = []
        for (let s = i + 1; s <= Math.min(n, i + 8); s++)
            group.push({
                seq: s,
                time: 1795660000000 + s * 600000,
                estimated: s > 1,
                values: { temperature: 20 + s / 8, humidity: 40 + s / 4 },
            })
        await q.append(group)
    }
    await deviceSettings.write(SEQ_KEY, n + 1)
}

describe("Reporter with readings kept in flash", () => {
    test("readings queued during an outage survive a reboot and go first; seq continues", async () => {
        await erase()
        const before = new Rig({
            periodMs: 1000,
            bufferSize: 16,
            keeper: flashKeeper(),
        })
        expect(await before.reporter.restore()).toBe(0)
        before.answer = p => platformAnswer(40000) // throttled throughout
        await before.runUntil(8500)
        expect(before.reporter.queue.size()).toBe(9)
        // kept in groups of 4: 1..8 in flash, 9 only in RAM
        const after = new Rig({
            periodMs: 1000,
            bufferSize: 16,
            keeper: flashKeeper(),
        })
        expect(await after.reporter.restore()).toBe(8)
        await after.runUntil(3500)
        // 9 was lost with the RAM: the gap says so; nothing twice
        expect(seqs(after)).toBe("1,2,3,4,5,6,7,8,10,11,12,13")
        expect(after.reporter.keeper.size()).toBe(0)
        const again = new Rig({
            periodMs: 1000,
            bufferSize: 16,
            keeper: flashKeeper(),
        })
        expect(await again.reporter.restore()).toBe(0)
        await again.runUntil(500)
        expect(seqs(again)).toBe("14")
    })
    test("while the link is up, flash is written only for seq", async () => {
        await erase()
        const store = new CountingStore()
        const rig = new Rig({
            periodMs: 1000,
            bufferSize: 16,
            keeper: flashKeeper(store),
        })
        await rig.reporter.restore()
        await rig.runUntil(4500)
        expect(seqs(rig)).toBe("1,2,3,4,5")
        expect(store.writes.join(",")).toBe(
            "SEQ_NEXT,SEQ_NEXT,SEQ_NEXT,SEQ_NEXT,SEQ_NEXT"
        )
    })
    test("after an outage: one group written, then one record per accepted request", async () => {
        await erase()
        const store = new CountingStore()
        const rig = new Rig({
            periodMs: 1000,
            bufferSize: 16,
            keeper: flashKeeper(store),
        })
        await rig.reporter.restore()
        rig.answer = p =>
            p.at < 3500 ? platformAnswer(40000) : platformAnswer(0)
        await rig.runUntil(5500)
        expect(seqs(rig).endsWith("1,2,3,4,5,6")).toBe(true)
        const flash = store.writes.filter(k => k !== SEQ_KEY)
        // 1..4 as one block and its record; sent one a request (no
        // clock in this rig, so no batches): a record write each
        expect(flash.join(",")).toBe("FQ_0,FQ,FQ,FQ,FQ,FQ")
        expect(rig.reporter.keeper.size()).toBe(0)
    })
    test("with 24 KB of the heap held by a ballast, 32 kept readings are restored and backfilled", async () => {
        await erase()
        const ballast = Buffer.alloc(24 * 1024)
        await keepBacklog(32)
        const rig = new Rig({
            periodMs: 60000,
            bufferSize: 40,
            batchMax: 32,
            keeper: flashKeeper(),
        })
        expect(await rig.reporter.restore()).toBe(32)
        await rig.runUntil(1000)
        let got: number[] = []
        for (const p of rig.published) {
            const doc = JSON.parse(p.body)
            const items: any[] = Array.isArray(doc) ? doc : [doc]
            for (const it of items) if (it.seq > 0) got.push(it.seq)
        }
        expect(got.length).toBe(33) // the 32 kept and the one taken now
        expect(got[0]).toBe(1)
        expect(got[32]).toBe(33)
        expect(rig.reporter.keeper.size()).toBe(0)
        expect(ballast.length).toBe(24 * 1024)
    })
})
