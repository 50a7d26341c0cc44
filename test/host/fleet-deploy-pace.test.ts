// Deploys give way to check-ins: the pace arithmetic alone, then through
// DeploySlots with the loop delay injected (a real store and real leases;
// only the clock of the pace is stepped by hand). No timed assertion.
import { test } from "node:test"
import assert from "node:assert/strict"
import {
    defaultPace,
    nextDeployLimit,
    type PaceLimits,
} from "../../host/fleet/service/deploy-pace.ts"
import { DeploySlots } from "../../host/fleet/service/deploy-slots.ts"
import { InstanceLeases } from "../../host/fleet/service/leases.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import { waitUntil } from "../../host/testkit/wait-until.ts"

const limits: PaceLimits = { max: 64, min: 4, highLagMs: 40, lowLagMs: 15 }

test("pace: halves when the loop runs late, never below the floor", () => {
    assert.equal(nextDeployLimit(64, 41, 64, limits), 32)
    assert.equal(nextDeployLimit(32, 500, 10, limits), 16)
    assert.equal(nextDeployLimit(5, 500, 5, limits), 4)
    assert.equal(nextDeployLimit(4, 500, 4, limits), 4)
})

test("pace: grows by a quarter only while the loop keeps up and every slot is used", () => {
    assert.equal(nextDeployLimit(4, 5, 4, limits), 5)
    assert.equal(nextDeployLimit(16, 5, 16, limits), 20)
    assert.equal(
        nextDeployLimit(60, 5, 60, limits),
        64,
        "never above the bound"
    )
    assert.equal(nextDeployLimit(16, 5, 3, limits), 16, "unused slots: stays")
    assert.equal(nextDeployLimit(16, 20, 16, limits), 16, "between: stays")
})

test("pace: a small bound is never paced below itself", () => {
    assert.deepEqual(defaultPace(3), {
        max: 3,
        min: 3,
        highLagMs: 40,
        lowLagMs: 15,
    })
    assert.equal(nextDeployLimit(3, 1000, 3, defaultPace(3)), 3)
})

test("slots: a late loop lets fewer deploys start here; a loop that keeps up gives the waiting device its slot", async () => {
    const store = new SqliteStore(":memory:")
    const leases = new InstanceLeases(store, "i1", {}, Date.now)
    let lag = 0
    const slots = new DeploySlots(
        store,
        leases,
        8,
        60_000,
        Date.now,
        () => {},
        {
            lag: () => lag,
            limits: { max: 8, min: 2, highLagMs: 40, lowLagMs: 15 },
            stepMs: 20,
        }
    )
    try {
        assert.equal(slots.pace, 2, "it starts from the fewest")
        const open = () => false
        assert.equal(await slots.take("d1", "a", open), "granted")
        assert.equal(await slots.take("d2", "b", open), "granted")
        // both slots used, the loop keeps up: it grows
        await waitUntil(() => slots.pace > 2, 30_000, "the pace grows")
        lag = 200
        await waitUntil(() => slots.pace === 2, 30_000, "the pace falls")
        // two run here, the pace allows two: the third waits
        let third: string | undefined
        void slots.take("d3", "c", open).then(o => (third = o))
        await new Promise(r => setTimeout(r, 100))
        assert.equal(third, undefined, "the third waits while the loop is late")
        lag = 0
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
