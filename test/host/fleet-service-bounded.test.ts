// Bounded deploys (serve --max-deploys K): no more than K devices are
// deployed to at once, on one instance and across two sharing a store
// (SQLite and PostgreSQL); the others are told to come back and still end
// on the assigned version; a slot freed by a disconnect goes to the next
// waiting device, in the rollout's canary order. No timed assertion.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
    ArtifactStore,
    imageHash,
    padImage,
} from "../../host/fleet/release/artifacts.ts"
import { FakeDevice, type FakeSession } from "../../host/testkit/fake-device.ts"
import { Cmd } from "../../host/fleet/device/protocol.ts"
import { canaryRank, parseScope } from "../../host/fleet/rollout/desired.ts"
import { assign, widen } from "../../host/fleet/rollout/actions.ts"
import {
    startFleetService,
    type FleetService,
    type FleetServiceOptions,
} from "../../host/fleet/service/service.ts"
import type { FleetEvent, FleetStore } from "../../host/fleet/store/types.ts"
import {
    buildFleetApp,
    publishSigned,
    registerDevice,
    releaseKeys,
} from "./fleet-helpers.ts"
import { SHARED_STORES, stopSharedStores } from "./shared-store.ts"
import { waitUntil } from "../../host/testkit/wait-until.ts"

const WAIT_MS = 120_000

let dir: string
let v1: Buffer
let v2: Buffer

before(async () => {
    dir = mkdtempSync(join(tmpdir(), "fleet-bounded-test-"))
    v1 = padImage(await buildFleetApp("v1"))
    v2 = padImage(await buildFleetApp("v2"))
})
after(async () => {
    await stopSharedStores()
    rmSync(dir, { recursive: true, force: true })
})

/** Deploys running at once, as the devices see them (DeployStart to the verification). */
class DeployMeter {
    running = 0
    most = 0
    /** Connects `device` and counts its deploy while it runs. */
    connect(device: FakeDevice, connectionString: string): FakeSession {
        let deploying = false
        const stop = () => {
            if (deploying) this.running--
            deploying = false
        }
        const s = device.connect({
            connectionString,
            onCommand: cmd => {
                if (cmd === Cmd.DeployStart) {
                    deploying = true
                    this.most = Math.max(this.most, ++this.running)
                } else if (cmd === Cmd.GetHash && deploying) stop()
            },
        })
        s.ended.then(stop)
        return s
    }
}

/** The most deploys open at once in the shared event log (its commit order). */
function mostOpen(events: FleetEvent[]): number {
    const open = new Set<string>()
    let most = 0
    for (const e of events) {
        if (e.kind === "deploying") open.add(e.deviceId)
        else if (e.kind === "deployed" || e.kind === "deploy-failed")
            open.delete(e.deviceId)
        most = Math.max(most, open.size)
    }
    return most
}

let n = 0
/** `count` instances on one store each (`stores`), with `ids` registered, v1 and v2 published. */
async function fleet(
    stores: FleetStore[],
    ids: string[],
    o: Partial<FleetServiceOptions>
) {
    const artifacts = new ArtifactStore(join(dir, `a${n++}`))
    for (const id of ids) await registerDevice(stores[0], id)
    await publishSigned(stores[0], artifacts, "v1", v1)
    await publishSigned(stores[0], artifacts, "v2", v2)
    const lines: string[] = []
    const services: FleetService[] = []
    for (const [i, store] of stores.entries())
        services.push(
            await startFleetService({
                store,
                artifacts,
                releaseKey: releaseKeys.publicKey,
                holdMs: 50,
                instance: `i${i}`,
                log: l => lines.push(`i${i}: ${l}`),
                ...o,
            })
        )
    const devices = new Map(
        ids.map(id => [
            id,
            new FakeDevice({ connectionString: "", program: v1 }),
        ])
    )
    return { services, devices, lines }
}

/**
 * Connects every device not on v2 yet, all at once, spread over the
 * services, until every one runs v2 (bounded rounds).
 */
async function rollUntilDone(
    services: FleetService[],
    devices: Map<string, FakeDevice>,
    meter: DeployMeter
) {
    const target = imageHash(v2)
    for (let round = 0; round < 200; round++) {
        const left = [...devices].filter(([, d]) => d.hash() !== target)
        if (!left.length) return
        await Promise.all(
            left.map(async ([id, d], i) => {
                const svc = services[(i + round) % services.length]
                await meter.connect(d, await svc.connectionString(id)).ended
            })
        )
    }
    assert.fail("devices left without v2 after 200 rounds")
}

test("with --max-deploys 3, no more than 3 deploys run at once; the others come back and every device ends on the assigned version", async () => {
    const { SqliteStore } = await import("../../host/fleet/store/sqlite.ts")
    const store = new SqliteStore(":memory:")
    const ids = Array.from({ length: 12 }, (_, i) => `d${i}`)
    // no wait: a device that finds every slot taken is told to come back
    const { services, devices, lines } = await fleet([store], ids, {
        maxDeploys: 3,
        deployWaitMs: 0,
    })
    const meter = new DeployMeter()
    try {
        await assign(store, "v1", { kind: "all" })
        await assign(store, "v2", { kind: "all" })
        await rollUntilDone(services, devices, meter)
        assert.ok(meter.most <= 3, `${meter.most} deploys at once (devices)`)
        const events = await store.events(10_000)
        const most = mostOpen(events)
        assert.ok(most <= 3, `${most} deploys open at once (event log)`)
        assert.ok(
            lines.some(l => /every deploy slot is taken/.test(l)),
            "some device was told to come back"
        )
        for (const [id, d] of devices) {
            assert.deepEqual(d.installed, [imageHash(v2)], id)
            assert.equal((await store.state(id)).deployFailures, 0, id)
        }
    } catch (e) {
        console.error(lines.join("\n"))
        throw e
    } finally {
        for (const s of services) await s.close()
        await store.close()
    }
})

test("a slot freed by a disconnect goes to the next waiting device, in the rollout's canary order; the canary ends first", async () => {
    const { SqliteStore } = await import("../../host/fleet/store/sqlite.ts")
    const store = new SqliteStore(":memory:")
    const ids = ["d1", "d2", "d3", "d4", "d5"]
    const long = 600_000
    const { services, devices, lines } = await fleet([store], ids, {
        maxDeploys: 1,
        deployWaitMs: long,
        stepTimeoutMs: long,
        idleTimeoutMs: long,
    })
    const [svc] = services
    const byRank = [...ids].sort((a, b) =>
        canaryRank("v2", a) < canaryRank("v2", b) ? -1 : 1
    )
    const [first, ...rest] = byRank
    const wait = (what: string, cond: () => Promise<boolean> | boolean) =>
        waitUntil(cond, WAIT_MS, what, { pollMs: 20 })
    try {
        await assign(store, "v1", { kind: "all" })
        // a canary of 40 % widened at once: both stages compete for the slot
        await assign(store, "v2", parseScope("40%"))
        await widen(store, 100)
        // the first device holds the only slot and hangs mid-deploy
        const hung = devices.get(first)!.connect({
            connectionString: await svc.connectionString(first),
            stallOn: Cmd.DeployWrite,
        })
        await wait(
            `${first}'s deploy`,
            async () =>
                (await store.state(first)).lastDeployResult === "in-progress"
        )
        // the others wait for the slot, arriving in reverse order
        const waiting = []
        for (const id of [...rest].reverse()) {
            waiting.push(
                devices.get(id)!.connect({
                    connectionString: await svc.connectionString(id),
                }).ended
            )
            await wait(`${id} waiting`, () =>
                lines.some(l => l.endsWith(`${id}: waiting for a deploy slot`))
            )
        }
        assert.equal(
            (await store.events(10_000)).filter(e => e.kind === "deploying")
                .length,
            1,
            "one deploy while the slot is held"
        )
        // the device drops: its slot goes to the next in order, and so on
        hung.drop()
        await Promise.all(waiting)
        const order = (await store.events(10_000))
            .filter(e => e.kind === "deploying")
            .map(e => e.deviceId)
        assert.deepEqual(order, byRank, "deploys in canary order")
        for (const id of rest)
            assert.deepEqual(devices.get(id)!.installed, [imageHash(v2)], id)
        // the canary (the first 40 % in that order) is first
        const canary = byRank.slice(0, 2)
        assert.deepEqual(order.slice(0, 2), canary)
        // the dropped device comes back and gets it too
        await devices
            .get(first)!
            .connect({ connectionString: await svc.connectionString(first) })
            .ended
        assert.equal(devices.get(first)!.hash(), imageHash(v2))
    } catch (e) {
        console.error(lines.join("\n"))
        throw e
    } finally {
        await svc.close()
        await store.close()
    }
})

test("a device waiting for a deploy slot is answered meanwhile; one that refuses while it waits gives its turn up", async () => {
    const { SqliteStore } = await import("../../host/fleet/store/sqlite.ts")
    const store = new SqliteStore(":memory:")
    const long = 600_000
    const { services, devices, lines } = await fleet(
        [store],
        ["d1", "d2", "d3"],
        {
            maxDeploys: 1,
            deployWaitMs: long,
            stepTimeoutMs: long,
            idleTimeoutMs: long,
        }
    )
    const [svc] = services
    const wait = (what: string, cond: () => Promise<boolean> | boolean) =>
        waitUntil(cond, WAIT_MS, what, { pollMs: 20 })
    try {
        await assign(store, "v1", { kind: "all" })
        await assign(store, "v2", { kind: "all" })
        // d1 holds the only slot and hangs mid-deploy
        const hung = devices.get("d1")!.connect({
            connectionString: await svc.connectionString("d1"),
            stallOn: Cmd.DeployWrite,
        })
        await wait(
            "d1's deploy",
            async () =>
                (await store.state("d1")).lastDeployResult === "in-progress"
        )
        // d2 pings right after its hash, as the runtime does, and waits
        let d2Pinged = false
        let d2Answered = false
        let d2Started = false
        const d2 = devices.get("d2")!.connect({
            connectionString: await svc.connectionString("d2"),
            onCommand: (cmd, _p, send) => {
                if (cmd === Cmd.GetHash && !d2Pinged) {
                    d2Pinged = true
                    send(Cmd.PingCloud, Buffer.from([1, 2, 3, 4]))
                } else if (cmd === Cmd.PingCloud) d2Answered = true
                else if (cmd === Cmd.DeployStart) d2Started = true
            },
        })
        await wait("d2's ping answered", () => d2Answered)
        assert.ok(
            lines.some(l => l.endsWith("d2: waiting for a deploy slot")),
            "d2 waits for the slot"
        )
        assert.equal(
            d2Started,
            false,
            "no deploy to d2 while d1 holds the slot"
        )
        // d3 waits too, then refuses unasked: it leaves the queue
        let refuse: (() => void) | undefined
        const d3 = devices.get("d3")!.connect({
            connectionString: await svc.connectionString("d3"),
            onCommand: (cmd, _p, send) => {
                if (cmd === Cmd.GetHash) refuse ??= () => send(Cmd.Error)
            },
        })
        await wait("d3 waiting", () =>
            lines.some(l => l.endsWith("d3: waiting for a deploy slot"))
        )
        refuse!()
        await wait(
            "d3's refusal recorded",
            async () => (await store.state("d3")).lastError !== ""
        )
        // d1 drops: the slot goes to d2, then is free again (d3 gave its turn up)
        hung.drop()
        await d2.ended
        assert.deepEqual(devices.get("d2")!.installed, [imageHash(v2)])
        d3.drop()
        await devices
            .get("d1")!
            .connect({ connectionString: await svc.connectionString("d1") })
            .ended
        assert.equal(devices.get("d1")!.hash(), imageHash(v2))
        assert.equal(devices.get("d3")!.hash(), imageHash(v1), "d3 refused")
        const deploying = (await store.events(10_000))
            .filter(e => e.kind === "deploying")
            .map(e => e.deviceId)
        assert.deepEqual(deploying, ["d1", "d2", "d1"])
    } catch (e) {
        console.error(lines.join("\n"))
        throw e
    } finally {
        await svc.close()
        await store.close()
    }
})

for (const kind of SHARED_STORES)
    test(`${kind.name}: with --max-deploys 3 on two instances, no more than 3 deploys run at once across both`, async () => {
        const shared = await kind.create()
        const stores = [await shared.open(), await shared.open()]
        const ids = Array.from({ length: 12 }, (_, i) => `d${i}`)
        const { services, devices, lines } = await fleet(stores, ids, {
            maxDeploys: 3,
            deployWaitMs: 100,
        })
        const meter = new DeployMeter()
        try {
            await assign(stores[0], "v1", { kind: "all" })
            await assign(stores[1], "v2", { kind: "all" })
            await rollUntilDone(services, devices, meter)
            assert.ok(
                meter.most <= 3,
                `${meter.most} deploys at once (devices)`
            )
            const most = mostOpen(await stores[0].events(10_000))
            assert.ok(most <= 3, `${most} deploys open at once (event log)`)
            for (const [id, d] of devices) {
                assert.deepEqual(d.installed, [imageHash(v2)], id)
                assert.equal(
                    (await stores[1].state(id)).currentHash,
                    imageHash(v2),
                    id
                )
            }
            assert.ok(
                !lines.some(l => /Error|SQLITE_BUSY/.test(l)),
                "no store error on either instance"
            )
            assert.ok(
                lines.some(l =>
                    /waiting for a deploy slot|every deploy slot is taken/.test(
                        l
                    )
                ),
                "the bound held some device back"
            )
        } catch (e) {
            console.error(lines.join("\n"))
            throw e
        } finally {
            for (const s of services) await s.close()
            await shared.remove()
        }
    })
