// The fleet service over real sockets with protocol-level fake devices:
// authentication, hash check, deploy, verification, refusal of damaged
// artifacts, a canary over a small fleet, rollback, crash reports.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
    ArtifactStore,
    imageHash,
    padImage,
} from "../../host/fleet/release/artifacts.ts"
import { FakeDevice } from "../../host/testkit/fake-device.ts"
import {
    Cmd,
    DEPLOY_CHUNK,
    DEPLOY_WINDOW,
    newDeviceKey,
} from "../../host/fleet/device/protocol.ts"
import { parseScope } from "../../host/fleet/rollout/desired.ts"
import { assign, rollback } from "../../host/fleet/rollout/actions.ts"
import {
    startFleetService,
    type FleetService,
} from "../../host/fleet/service/service.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import { buildFirmware } from "../../host/lib/build.ts"
import { waitUntil } from "../../host/testkit/wait-until.ts"
import {
    buildFleetApp,
    publishSigned,
    registerDevice,
    releaseKeys,
} from "./fleet-helpers.ts"

let dir: string
let v1: Buffer
let v2: Buffer

before(async () => {
    dir = mkdtempSync(join(tmpdir(), "fleet-service-test-"))
    v1 = padImage(await buildFleetApp("v1"))
    v2 = padImage(await buildFleetApp("v2"))
})
after(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
async function setup(
    ids: string[],
    opts: Partial<Parameters<typeof startFleetService>[0]> = {}
) {
    const store = new SqliteStore(":memory:")
    const artifacts = new ArtifactStore(join(dir, `a${n++}`))
    for (const id of ids) await registerDevice(store, id)
    for (const [name, img] of [
        ["v1", v1],
        ["v2", v2],
    ] as const)
        await publishSigned(store, artifacts, name, img)
    const svc = await startFleetService({
        store,
        artifacts,
        releaseKey: releaseKeys.publicKey,
        holdMs: 50,
        ...opts,
    })
    const devices = Object.fromEntries(
        await Promise.all(
            ids.map(
                async id =>
                    [
                        id,
                        new FakeDevice({
                            connectionString: await svc.connectionString(id),
                            program: v1,
                        }),
                    ] as const
            )
        )
    )
    return { store, artifacts, svc, devices }
}

test("a device in sync is asked for its hash only, then the service lets go of the socket", async () => {
    const { store, svc, devices } = await setup(["d1"])
    try {
        await assign(store, "v1", { kind: "all" })
        const s = devices.d1.connect()
        const end = await s.ended
        assert.equal(end.authenticated, true)
        assert.equal(end.reason, "closed by server")
        assert.deepEqual(s.commands, [Cmd.GetHash])
        const st = await store.state("d1")
        assert.equal(st.currentHash, imageHash(v1))
        assert.equal(st.connected, false)
        assert.ok(st.lastSeen > 0)
    } finally {
        await svc.close()
    }
})

test("a device with a wrong key gets nothing: no command, no reply to its auth, the failure counted in memory", async () => {
    const { store, svc, devices } = await setup(["d1"])
    try {
        await assign(store, "v2", { kind: "all" })
        const thief = new FakeDevice({
            connectionString: await svc.connectionString("d1"),
            key: newDeviceKey(),
            program: v1,
        })
        const s = thief.connect()
        const end = await s.ended
        assert.equal(end.authenticated, false)
        assert.deepEqual(s.commands, [])
        assert.equal(thief.installed.length, 0)
        // counted in memory only: an unauthenticated peer changes no record
        assert.equal(svc.handshakeFailures().d1.count, 1)
        assert.match(svc.handshakeFailures().d1.lastReason, /wrong key/)
        assert.equal((await store.state("d1")).lastError, "")
        assert.equal((await store.state("d1")).connected, false)
        // an unknown device id is answered as a wrong key is (ids cannot
        // be enumerated), and nothing is counted for it
        const cs = (await svc.connectionString("d1")).replace(
            "/wssk/d1",
            "/wssk/nobody"
        )
        const stranger = new FakeDevice({ connectionString: cs, program: v1 })
        const ss = stranger.connect()
        assert.equal((await ss.ended).authenticated, false)
        assert.deepEqual(ss.commands, [])
        assert.equal(svc.handshakeFailures().nobody, undefined)
    } finally {
        await svc.close()
    }
})

test("a new assignment is deployed in 32-byte-aligned chunks, verified by hash, and recorded", async () => {
    const { store, svc, devices } = await setup(["d1"])
    try {
        await assign(store, "v1", { kind: "all" })
        await assign(store, "v2", parseScope("device:d1"))
        const s = devices.d1.connect()
        await s.ended
        assert.deepEqual(devices.d1.installed, [imageHash(v2)])
        assert.deepEqual(devices.d1.program, v2)
        assert.equal(s.commands[0], Cmd.GetHash)
        assert.equal(s.commands[1], Cmd.DeployStart)
        assert.equal(s.commands.at(-2), Cmd.DeployFinish)
        assert.equal(
            s.commands.at(-1),
            Cmd.GetHash,
            "verified after the deploy"
        )
        const writes = s.commands.filter(c => c === Cmd.DeployWrite).length
        assert.equal(writes, Math.ceil(v2.length / 192))
        const st = await store.state("d1")
        assert.equal(st.lastDeployResult, "ok")
        assert.equal(st.currentHash, imageHash(v2))
        assert.equal(st.health, "unknown", "healthy only once it reports")
        // next check-in: nothing to do
        const again = devices.d1.connect()
        await again.ended
        assert.deepEqual(again.commands, [Cmd.GetHash])
    } finally {
        await svc.close()
    }
})

test("a damaged artifact is refused before DeployStart: the device keeps its program", async () => {
    const { store, artifacts, svc, devices } = await setup(["d1"])
    try {
        await assign(store, "v2", { kind: "all" })
        const p = artifacts.path(imageHash(v2))
        const stored = readFileSync(p)
        writeFileSync(p, stored.subarray(0, stored.length - 96)) // truncated on disk
        const s = devices.d1.connect()
        await s.ended
        assert.deepEqual(s.commands, [Cmd.GetHash])
        assert.deepEqual(devices.d1.program, v1)
        const st = await store.state("d1")
        assert.equal(st.lastDeployResult, "refused")
        assert.match(st.lastError, /damaged in storage/)
        assert.equal(
            (await store.rollouts()).at(-1)!.status,
            "stopped",
            "the rollout stops itself"
        )
    } finally {
        await svc.close()
    }
})

test("canary: 40% of a five-device fleet gets v2, exactly those; rollback returns them to v1", async () => {
    const ids = ["d1", "d2", "d3", "d4", "d5"]
    const { store, svc, devices } = await setup(ids)
    try {
        await assign(store, "v1", { kind: "all" })
        await assign(store, "v2", parseScope("40%"))
        await Promise.all(ids.map(id => devices[id].connect().ended))
        const onV2 = ids.filter(id => devices[id].hash() === imageHash(v2))
        assert.equal(onV2.length, 2)
        for (const id of ids)
            assert.equal(
                (await store.state(id)).currentHash,
                devices[id].hash(),
                `${id} recorded`
            )
        await rollback(store)
        await Promise.all(ids.map(id => devices[id].connect().ended))
        assert.ok(ids.every(id => devices[id].hash() === imageHash(v1)))
        for (const id of onV2)
            assert.deepEqual(devices[id].installed, [
                imageHash(v2),
                imageHash(v1),
            ])
    } finally {
        await svc.close()
    }
})

test("a device that refuses a write fails the deploy; the failure count stops retries", async () => {
    const { store, svc, devices } = await setup(["d1"], {
        maxDeployFailures: 2,
    })
    try {
        await assign(store, "v2", { kind: "all" })
        const d = devices.d1
        // a device that answers every DeployWrite with Error
        const orig = (d as any).handle.bind(d)
        ;(d as any).handle = (
            cmd: number,
            p: Buffer,
            send: (c: number, p?: Buffer) => void
        ) => (cmd === Cmd.DeployWrite ? send(Cmd.Error) : orig(cmd, p, send))
        for (let i = 0; i < 2; i++) await d.connect().ended
        const st = await store.state("d1")
        assert.equal(st.lastDeployResult, "failed")
        assert.equal(st.deployFailures, 2)
        assert.match(st.lastError, /device refused write/)
        const third = d.connect()
        await third.ended
        assert.deepEqual(third.commands, [Cmd.GetHash], "no third attempt")
    } finally {
        await svc.close()
    }
})

/** Publishes the real firmware as "big": hundreds of chunks, many windows. */
async function publishBig(store: SqliteStore, artifacts: ArtifactStore) {
    const big = await buildFirmware("src/main.ts", { version: "9.0.0" })
    await publishSigned(store, artifacts, "big", big)
    return big
}

/**
 * A device that answers each DeployWrite a few milliseconds late, like one
 * on a slow link; records the most writes it held unanswered at once.
 */
function answerWritesLate(d: FakeDevice) {
    const seen = { writes: 0, answered: 0, mostUnanswered: 0 }
    const orig = (d as any).handle.bind(d)
    ;(d as any).handle = (
        cmd: number,
        p: Buffer,
        send: (c: number, p?: Buffer) => void
    ) => {
        if (cmd !== Cmd.DeployWrite) return orig(cmd, p, send)
        seen.writes++
        seen.mostUnanswered = Math.max(
            seen.mostUnanswered,
            seen.writes - seen.answered
        )
        const copy = Buffer.from(p)
        setTimeout(() => {
            seen.answered++
            orig(cmd, copy, send)
        }, 5)
    }
    return seen
}

test("a deploy keeps the window full: DEPLOY_WINDOW writes unanswered at most, the image arrives whole", async () => {
    const { store, artifacts, svc, devices } = await setup(["d1"])
    try {
        const big = await publishBig(store, artifacts)
        await assign(store, "big", { kind: "all" })
        const d = devices.d1
        const seen = answerWritesLate(d)
        await d.connect().ended
        assert.equal(d.hash(), imageHash(big))
        assert.equal(seen.writes, Math.ceil(big.length / DEPLOY_CHUNK))
        assert.equal(seen.mostUnanswered, DEPLOY_WINDOW)
        assert.equal((await store.state("d1")).lastDeployResult, "ok")
    } finally {
        await svc.close()
    }
})

test("a write refused within the window fails the deploy once: the writes refused after it are not recorded again", async () => {
    const { store, artifacts, svc, devices } = await setup(["d1"])
    try {
        await publishBig(store, artifacts)
        await assign(store, "big", { kind: "all" })
        const d = devices.d1
        const seen = answerWritesLate(d)
        // the third write is refused; as the runtime, the device then
        // refuses every write until the next DeployStart
        const late = (d as any).handle.bind(d)
        ;(d as any).handle = (
            cmd: number,
            p: Buffer,
            send: (c: number, p?: Buffer) => void
        ) =>
            late(
                cmd,
                cmd === Cmd.DeployWrite && seen.writes === 2
                    ? p.subarray(1)
                    : p,
                send
            )
        const s = d.connect()
        await s.ended
        const writes = s.commands.filter(c => c === Cmd.DeployWrite).length
        assert.ok(
            writes > 3,
            `writes after the refused one were in flight (${writes})`
        )
        const st = await store.state("d1")
        assert.equal(st.lastDeployResult, "failed")
        assert.equal(st.deployFailures, 1)
        assert.match(st.lastError, /device refused write/)
        const mine = (await store.events()).filter(e => e.deviceId === "d1")
        assert.equal(mine.filter(e => e.kind === "deploy-failed").length, 1)
        assert.deepEqual(
            mine.filter(e => e.kind === "error"),
            [],
            "no error recorded for the refusals of writes sent before the first came"
        )
    } finally {
        await svc.close()
    }
})

test("a check-in leaves no event, only its state (connected, last seen); a deploy is recorded and printed", async () => {
    const lines: string[] = []
    const { store, svc, devices } = await setup(["d1"], {
        log: line => lines.push(line),
    })
    try {
        const start = Date.now()
        await devices.d1.connect().ended
        await waitUntil(
            async () => !(await store.state("d1")).connected,
            30_000,
            "d1 disconnected"
        )
        assert.ok((await store.state("d1")).lastSeen >= start)
        assert.deepEqual(
            (await store.events()).filter(e => e.deviceId === "d1"),
            [],
            "a check-in with nothing to do is not an event"
        )
        await assign(store, "v2", { kind: "all" })
        await devices.d1.connect().ended
        await svc.close()
        const kinds = (await store.events())
            .filter(e => e.deviceId === "d1")
            .map(e => e.kind)
        assert.ok(kinds.includes("deployed"), kinds.join(" "))
        assert.ok(
            !kinds.includes("connected") && !kinds.includes("disconnected"),
            kinds.join(" ")
        )
        assert.ok(
            lines.some(l => /^d1: deployed/.test(l)),
            lines.join("\n")
        )
    } finally {
        await svc.close()
    }
})

test("an exception report after an update marks the device crashed and stops the rollout", async () => {
    const { store, svc, devices } = await setup(["d1"])
    try {
        await assign(store, "v1", { kind: "all" })
        const r = await assign(store, "v2", parseScope("device:d1"))
        await devices.d1.connect().ended
        assert.equal((await store.state("d1")).lastDeployResult, "ok")
        const s = devices.d1.connect({
            onOpen: send =>
                send(
                    Cmd.ExceptionReport,
                    Buffer.from("! Unhandled exception\n! at main\n")
                ),
        })
        await s.ended
        const st = await store.state("d1")
        assert.equal(st.health, "crashed")
        assert.match(st.lastException, /Unhandled exception/)
        const after = (await store.rollouts()).find(x => x.id === r.id)!
        assert.equal(after.status, "stopped")
        assert.match(after.reason, /d1 crashed after updating to v2/)
    } finally {
        await svc.close()
    }
})

test("silence after an update is seen through the report source; a report makes it healthy", async () => {
    let reported: number | undefined
    let clock = 1_000_000
    const { store, svc, devices } = await setup(["d1", "d2"], {
        reportSource: d => (d.id === "d1" ? reported : undefined),
        silentAfterMs: 30_000,
        healthCheckMs: 3_600_000,
        now: () => clock,
    })
    try {
        await assign(store, "v2", { kind: "all" })
        await devices.d1.connect().ended
        await devices.d2.connect().ended
        reported = clock + 10
        clock += 31_000
        await svc.checkHealth()
        assert.equal((await store.state("d1")).health, "ok")
        assert.equal((await store.state("d2")).health, "silent")
        assert.equal((await store.rollouts()).at(-1)!.status, "stopped")
    } finally {
        await svc.close()
    }
})

test("an artifact swapped in state/ together with its hash is refused before DeployStart: the release signature does not match, the rollout stops", async () => {
    const { store, artifacts, svc, devices } = await setup(["d1"])
    try {
        const r = await assign(store, "v2", { kind: "all" })
        // someone who can write state/ (but has no release key) swaps v2
        // for an image of their own and puts its hash in the database
        const evil = Buffer.from(v2)
        evil[evil.length >> 1] ^= 0x01
        const evilHash = imageHash(evil)
        writeFileSync(artifacts.path(evilHash), evil)
        store.db
            .prepare("UPDATE versions SET hash = ? WHERE name = 'v2'")
            .run(evilHash)
        assert.deepEqual(artifacts.get(evilHash), evil, "hash check passes")
        const s = devices.d1.connect()
        await s.ended
        assert.deepEqual(s.commands, [Cmd.GetHash], "no DeployStart")
        assert.deepEqual(devices.d1.program, v1)
        const st = await store.state("d1")
        assert.equal(st.lastDeployResult, "refused")
        assert.match(st.lastError, /signature does not match/)
        const after = (await store.rollouts()).find(x => x.id === r.id)!
        assert.equal(after.status, "stopped")
        assert.match(after.reason, /signature does not match/)
    } finally {
        await svc.close()
    }
})

test("a version without a release signature (published before signing existed) is never deployed until signed", async () => {
    const { store, artifacts, svc, devices } = await setup(["d1"])
    try {
        store.db
            .prepare("UPDATE versions SET signature = '' WHERE name = 'v2'")
            .run()
        await assign(store, "v2", { kind: "all" })
        const s = devices.d1.connect()
        await s.ended
        assert.deepEqual(s.commands, [Cmd.GetHash])
        assert.match((await store.state("d1")).lastError, /not signed/)
        // publishing the same image under its name again, signed, fixes it
        await publishSigned(store, artifacts, "v2", v2)
        await assign(store, "v2", { kind: "all" })
        await devices.d1.connect().ended
        assert.deepEqual(devices.d1.program, v2)
    } finally {
        await svc.close()
    }
})

test("an authenticated device that goes quiet is closed after the idle timeout, even while held", async () => {
    const { store, svc, devices } = await setup(["d1"], {
        holdMs: 600_000,
        idleTimeoutMs: 500,
    })
    try {
        await assign(store, "v1", { kind: "all" })
        // the fake device answers GetHash and then sends nothing (no pings)
        const s = devices.d1.connect()
        const end = await s.ended
        assert.equal(end.authenticated, true)
        assert.equal(end.reason, "closed by server")
        assert.deepEqual(s.commands, [Cmd.GetHash])
        assert.equal((await store.state("d1")).connected, false)
        assert.ok(
            (await store.events()).some(
                e => e.kind === "disconnected" && /idle/.test(e.detail)
            ),
            JSON.stringify(await store.events())
        )
    } finally {
        await svc.close()
    }
})
