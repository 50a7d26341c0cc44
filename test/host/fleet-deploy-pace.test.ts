// Deploys give way to check-ins: the pace arithmetic alone, then through
// DeploySlots with the load injected (a real store and real leases), and
// the gauge itself on a loop kept busy. No timed assertion.
import { test } from "node:test"
import assert from "node:assert/strict"
import {
    defaultPace,
    nextDeployLimit,
    type PaceLimits,
} from "../../host/fleet/service/deploy-pace.ts"
import { DeploySlots } from "../../host/fleet/service/deploy-slots.ts"
import { LoadGauge, type Load } from "../../host/fleet/service/load-gauge.ts"
import { InstanceLeases } from "../../host/fleet/service/leases.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import { waitUntil } from "../../host/testkit/wait-until.ts"

const limits: PaceLimits = { ...defaultPace(64), min: 4 }
const idle: Load = { lagMs: 2, busy: 0.2 }
const late = (lagMs: number): Load => ({ lagMs, busy: 0.2 })
const busy = (share: number): Load => ({ lagMs: 2, busy: share })

test("pace: halves when the loop runs late or the core is busy, never below the floor", () => {
    assert.equal(nextDeployLimit(64, late(41), 64, limits), 32)
    assert.equal(nextDeployLimit(64, busy(0.9), 64, limits), 32)
    assert.equal(nextDeployLimit(32, late(500), 10, limits), 16)
    assert.equal(nextDeployLimit(5, late(500), 5, limits), 4)
    assert.equal(nextDeployLimit(4, busy(1), 4, limits), 4)
})

test("pace: grows by a quarter only while the service keeps up and every slot is used", () => {
    assert.equal(nextDeployLimit(4, idle, 4, limits), 5)
    assert.equal(nextDeployLimit(16, idle, 16, limits), 20)
    assert.equal(
        nextDeployLimit(60, idle, 60, limits),
        64,
        "never above the bound"
    )
    assert.equal(
        nextDeployLimit(16, idle, 3, limits),
        16,
        "unused slots: stays"
    )
    assert.equal(
        nextDeployLimit(16, late(20), 16, limits),
        16,
        "between: stays"
    )
    assert.equal(
        nextDeployLimit(16, busy(0.7), 16, limits),
        16,
        "between: stays"
    )
})

test("pace: a small bound is never paced below itself", () => {
    assert.equal(defaultPace(3).min, 3)
    assert.equal(nextDeployLimit(3, busy(1), 3, defaultPace(3)), 3)
})

test("the gauge: a step that kept the core busy reads busier than one that slept", async () => {
    const gauge = new LoadGauge()
    try {
        gauge.sample()
        // 150 ms of this process's CPU, however long the machine makes it take
        const cpu0 = process.cpuUsage()
        while (process.cpuUsage(cpu0).user < 150_000) {}
        const spun = gauge.sample()
        await new Promise(r => setTimeout(r, 150))
        const slept = gauge.sample()
        assert.ok(spun.busy > slept.busy, `${spun.busy} > ${slept.busy}`)
        assert.ok(slept.busy < 0.5, `asleep: ${slept.busy}`)
        // a loop held 150 ms: the step reads it late by about that much
        // (beyond the gauge's 10 ms period; a busier machine reads more).
        // Node counts a period from the first tick after a sample.
        await new Promise(r => setTimeout(r, 30))
        const t = performance.now()
        while (performance.now() - t < 150) {}
        await new Promise(r => setTimeout(r, 20))
        const held = gauge.sample()
        assert.ok(held.lagMs >= 100, `held: ${held.lagMs} ms late`)
    } finally {
        gauge.stop()
    }
})

test("slots: a loaded service lets fewer deploys start here; one that keeps up gives the waiting device its slot", async () => {
    const store = new SqliteStore(":memory:")
    const leases = new InstanceLeases(store, "i1", {}, Date.now)
    let load = idle
    const slots = new DeploySlots(
        store,
        leases,
        8,
        60_000,
        Date.now,
        () => {},
        {
            load: () => load,
            limits: { ...defaultPace(8), min: 2 },
            stepMs: 20,
        }
    )
    try {
        assert.equal(slots.pace, 2, "it starts from the fewest")
        const open = () => false
        assert.equal(await slots.take("d1", "a", open), "granted")
        assert.equal(await slots.take("d2", "b", open), "granted")
        // both slots used, the service keeps up: it grows
        await waitUntil(() => slots.pace > 2, 30_000, "the pace grows")
        load = busy(0.95)
        await waitUntil(() => slots.pace === 2, 30_000, "the pace falls")
        // two run here, the pace allows two: the third waits, however long
        let third: string | undefined
        void slots.take("d3", "c", open).then(o => (third = o))
        await new Promise(r => setTimeout(r, 100))
        assert.equal(
            third,
            undefined,
            "the third waits while the service is loaded"
        )
        load = idle
        await waitUntil(
            () => third !== undefined,
            30_000,
            "the third gets its slot"
        )
        assert.equal(third, "granted")
        assert.ok(slots.pace > 2)
    } finally {
        slots.close()
        await store.close()
    }
})

test("slots: a slot granted to an older session of a device is not given up by it once a newer session took it", async () => {
    const store = new SqliteStore(":memory:")
    const leases = new InstanceLeases(store, "i1", {}, Date.now)
    const slots = new DeploySlots(store, leases, 2, 0, Date.now)
    const running = () => store.countLeases("deploy:", Date.now())
    const open = () => false
    const older = {}
    const newer = {}
    try {
        assert.equal(await slots.take("d1", "a", open, older), "granted")
        // the newer session takes it before the older one saw its grant
        assert.equal(await slots.take("d1", "a", open, newer), "granted")
        await slots.releaseDeploy("d1", undefined, older)
        assert.equal(await running(), 1, "the newer session keeps the slot")
        await slots.releaseDeploy("d1", undefined, newer)
        assert.equal(await running(), 0, "its holder gives it up")
        // granted and released by the same session: given up
        assert.equal(await slots.take("d1", "a", open, older), "granted")
        await slots.releaseDeploy("d1", undefined, older)
        assert.equal(await running(), 0)
    } finally {
        slots.close()
        await store.close()
    }
})

test("slots: devices that ask together get no more slots than the pace allows", async () => {
    const store = new SqliteStore(":memory:")
    const leases = new InstanceLeases(store, "i1", {}, Date.now)
    // the pace holds at 2 (its step never comes in this test); the bound is 8
    const slots = new DeploySlots(store, leases, 8, 0, Date.now, () => {}, {
        load: () => idle,
        limits: { ...defaultPace(8), min: 2 },
        stepMs: 3_600_000,
    })
    try {
        const open = () => false
        const outcomes = await Promise.all(
            ["d1", "d2", "d3", "d4", "d5", "d6"].map(id =>
                slots.take(id, id, open)
            )
        )
        assert.deepEqual(
            outcomes.filter(o => o === "granted").length,
            2,
            outcomes.join(" ")
        )
        assert.equal(await store.countLeases("deploy:", Date.now()), 2)
    } finally {
        slots.close()
        await store.close()
    }
})
