// Crash recovery: the service (a child process) is killed with SIGKILL in
// the middle of a deploy to a protocol-level fake device. Restarted on the
// same state, it settles what was interrupted before serving: the device is
// disconnected, the attempt counts as failed, the database is consistent;
// and when the device checks in again it gets the version.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
    ArtifactStore,
    imageHash,
    padImage,
} from "../../host/fleet/artifacts.ts"
import { buildFirmware } from "../../host/build.ts"
import { FakeDevice } from "../../host/fleet/fake-device.ts"
import {
    Cmd,
    formatConnectionString,
    newDeviceKey,
} from "../../host/fleet/protocol.ts"
import { assign } from "../../host/fleet/rollout.ts"
import { prepareStateDir } from "../../host/fleet/state-dir.ts"
import { SqliteStore } from "../../host/fleet/storage.ts"
import {
    publishSigned,
    releaseKeys,
    startServiceProcess,
    type ServiceProcess,
} from "./fleet-helpers.ts"

let dir: string
let state: string
let pub: string
let v1: Buffer
let v2: Buffer
let svc: ServiceProcess | undefined
const key = newDeviceKey()

before(async () => {
    dir = mkdtempSync(join(tmpdir(), "fleet-crash-test-"))
    state = join(dir, "state")
    prepareStateDir(state)
    v1 = padImage(await buildFirmware("test/fixtures/fleet-app-v1.ts"))
    v2 = padImage(await buildFirmware("test/fixtures/fleet-app-v2.ts"))
    const store = new SqliteStore(join(state, "fleet.db"))
    const artifacts = new ArtifactStore(join(state, "artifacts"))
    publishSigned(store, artifacts, "v1", v1)
    publishSigned(store, artifacts, "v2", v2)
    store.upsertDevice({
        id: "d1",
        key: key.toString("hex"),
        groups: [],
        platformId: "",
        createdAt: 0,
    })
    assign(store, "v2", { kind: "all" })
    store.close()
    pub = join(dir, "release.pub")
    writeFileSync(pub, releaseKeys.publicPem)
})

after(async () => {
    await svc?.stop()
    rmSync(dir, { recursive: true, force: true })
})

const serve = () =>
    startServiceProcess([
        "--state",
        state,
        "--release-key",
        pub,
        "--port",
        "0",
        "--hold-ms",
        "50",
    ])

/** Reads the database as another process sees it. */
function readDb<T>(fn: (db: SqliteStore) => T): T {
    const db = new SqliteStore(join(state, "fleet.db"))
    try {
        return fn(db)
    } finally {
        db.close()
    }
}

test("SIGKILL during a deploy: on restart the attempt counts as failed, nothing stays connected, the device is redeployed", async () => {
    svc = await serve()
    const connStr = (port: number) =>
        formatConnectionString({
            host: "127.0.0.1",
            port,
            path: "/wssk/d1",
            key,
        })
    const device = new FakeDevice({
        connectionString: connStr(svc.port),
        program: v1,
    })
    // the device takes one chunk, then goes quiet: the deploy is under way
    const handle = (device as any).handle.bind(device)
    let writes = 0
    let stalled!: () => void
    const midDeploy = new Promise<void>(r => (stalled = r))
    ;(device as any).handle = (
        cmd: number,
        p: Buffer,
        send: (c: number, p?: Buffer) => void
    ) => {
        if (cmd === Cmd.DeployWrite && ++writes > 1) return stalled()
        handle(cmd, p, send)
    }
    const first = device.connect()
    await midDeploy
    const during = readDb(db => db.state("d1"))
    assert.equal(during.lastDeployResult, "in-progress")
    assert.equal(during.connected, true)
    await svc.stop("SIGKILL")
    await first.ended
    assert.equal(
        device.program.length,
        0,
        "the runtime erased its program at DeployStart"
    )

    svc = await serve()
    await svc.waitForLine(/d1: deploy interrupted by a service stop/)
    readDb(db => {
        assert.deepEqual(db.db.pragma("integrity_check"), [
            { integrity_check: "ok" },
        ])
        const st = db.state("d1")
        assert.equal(st.connected, false)
        assert.equal(st.lastDeployResult, "failed")
        assert.equal(st.deployFailures, 1)
        assert.equal(st.lastDeployHash, imageHash(v2))
        assert.match(st.lastError, /service stopped during the deploy/)
        assert.equal(
            db.rollouts().at(-1)!.status,
            "active",
            "the rollout goes on"
        )
        assert.ok(db.events().some(e => e.kind === "deploy-failed"))
    })

    ;(device as any).handle = handle
    device.options.connectionString = connStr(svc.port)
    const again = device.connect()
    assert.equal((await again.ended).authenticated, true)
    assert.deepEqual(device.installed, [imageHash(v2)])
    assert.deepEqual(device.program, v2)
    readDb(db => {
        const st = db.state("d1")
        assert.equal(st.lastDeployResult, "ok")
        assert.equal(st.deployFailures, 0)
        assert.equal(st.currentHash, imageHash(v2))
        assert.equal(st.connected, false)
    })
})
