// The work of one check-in in store calls, counted through a store that
// records every call the service makes: it must not grow with the fleet,
// with a canary (a percentage below 100 %) active too, and the check-in
// must not read the whole fleet (devices(), states()).
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ArtifactStore, padImage } from "../../host/fleet/release/artifacts.ts"
import { FakeDevice } from "../../host/testkit/fake-device.ts"
import { parseScope } from "../../host/fleet/rollout/desired.ts"
import { assign } from "../../host/fleet/rollout/actions.ts"
import { startFleetService } from "../../host/fleet/service/service.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import type {
    FleetStore,
    TransactionScope,
} from "../../host/fleet/store/types.ts"
import {
    buildFleetApp,
    publishSigned,
    registerDevice,
    releaseKeys,
} from "./fleet-helpers.ts"
import { waitUntil } from "../../host/testkit/wait-until.ts"

let dir: string
let v1: Buffer
let v2: Buffer

before(async () => {
    dir = mkdtempSync(join(tmpdir(), "fleet-queries-test-"))
    v1 = padImage(await buildFleetApp("v1"))
    v2 = padImage(await buildFleetApp("v2"))
})
after(() => rmSync(dir, { recursive: true, force: true }))

/** `store` with every call counted by name (inside transactions too). */
function counted(store: FleetStore, calls: string[]): FleetStore {
    const wrap = (s: FleetStore): FleetStore =>
        new Proxy(s, {
            get(target, key) {
                const v = Reflect.get(target, key)
                if (typeof v !== "function") return v
                if (key === "atomically")
                    return (
                        fn: (tx: FleetStore) => Promise<unknown>,
                        scope?: TransactionScope
                    ) => {
                        calls.push("atomically")
                        return target.atomically(tx => fn(wrap(tx)), scope)
                    }
                return (...args: unknown[]) => {
                    calls.push(String(key))
                    return v.apply(target, args)
                }
            },
        })
    return wrap(store)
}

/**
 * Store calls of one check-in of a device in sync, in a fleet of `size`
 * devices, with v2 on a 40 % canary over v1 for all.
 */
async function checkInCalls(size: number) {
    const store = new SqliteStore(":memory:")
    const artifacts = new ArtifactStore(join(dir, `a${size}`))
    const ids = Array.from({ length: size }, (_, i) => `d${i}`)
    await store.atomically(async tx => {
        for (const id of ids) await registerDevice(tx, id)
    })
    await publishSigned(store, artifacts, "v1", v1)
    await publishSigned(store, artifacts, "v2", v2)
    await assign(store, "v1", { kind: "all" })
    await assign(store, "v2", parseScope("40%"))
    const calls: string[] = []
    const svc = await startFleetService({
        store: counted(store, calls),
        artifacts,
        releaseKey: releaseKeys.publicKey,
        holdMs: 50,
        healthCheckMs: 3_600_000,
    })
    try {
        const perCheckIn: string[][] = []
        const devices = new Map<string, FakeDevice>()
        for (const id of ["d0", "d1", "d2"])
            devices.set(
                id,
                new FakeDevice({
                    connectionString: await svc.connectionString(id),
                    program: v1,
                })
            )
        // two check-ins of each of three devices: the first deploys v2 to
        // a canary member; the second is a steady one (nothing to deploy)
        for (const id of ["d0", "d1", "d2", "d0", "d1", "d2"]) {
            const device = devices.get(id)!
            const start = Date.now()
            calls.length = 0
            await device.connect().ended
            // its end is recorded: seen since `start`, and not connected
            await waitUntil(
                async () => {
                    const st = await store.state(id)
                    return !st.connected && st.lastSeen >= start
                },
                60_000,
                `${id} disconnected`,
                { pollMs: 10 }
            )
            perCheckIn.push([...calls])
        }
        return perCheckIn.slice(3)
    } finally {
        await svc.close()
        await store.close()
    }
}

test("a check-in costs the same store calls in a fleet of 20 and of 400 devices, with a canary active, and reads no whole-fleet table", async () => {
    const small = await checkInCalls(20)
    const large = await checkInCalls(400)
    const text = (c: string[]) => c.join(" ")
    console.log(
        `store calls per check-in: ${large[0].length}: ${text(large[0])}`
    )
    for (const c of [...small, ...large]) {
        assert.ok(!c.includes("devices"), `devices() read: ${text(c)}`)
        assert.ok(!c.includes("states"), `states() read: ${text(c)}`)
        assert.equal(
            c.filter(name => name === "updateState").length,
            2,
            `connected, then disconnected; the hash it reports is the one stored: ${text(c)}`
        )
        assert.equal(
            c.filter(name => name === "atomically").length,
            2,
            `a transaction to read what it should run, one to record its disconnect; its connect is one write: ${text(c)}`
        )
    }
    assert.deepEqual(
        large.map(c => c.length),
        small.map(c => c.length),
        "as many calls in the larger fleet"
    )
})
