// wss:// end to end: the fleet service serves TLS itself (a certificate from
// a local CA, which the simulator trusts through NODE_EXTRA_CA_CERTS), the
// real runtime in the simulator connects with a wss:// connection string,
// and receives v2 over it. (A board trusts only its fixed CA bundle, so in
// the field the certificate must come from a public CA.)
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ArtifactStore } from "../../host/fleet/artifacts.ts"
import { buildFirmware } from "../../host/build.ts"
import { setConnectionStringFrame } from "../../host/jacdac/services.ts"
import { sendFramesToSimBus } from "../../host/jacdac/sim-bus.ts"
import { newDeviceKey } from "../../host/fleet/protocol.ts"
import { assign, parseScope } from "../../host/fleet/rollout.ts"
import {
    startFleetService,
    type FleetService,
} from "../../host/fleet/service.ts"
import { SqliteStore } from "../../host/fleet/storage.ts"
import { createTlsMaterial } from "../../host/platform/certs.ts"
import { startSim, type SimSession } from "../../host/sim/index.ts"
import { WAIT_FOR_PORTS_MS, waitUntil } from "./e2e-helpers.ts"
import { publishSigned, releaseKeys } from "./fleet-helpers.ts"

/** The runtime reconnects ~32 s after the last message it got. */
const CHECK_IN_MS = 60_000

let dir: string
let caFile: string
let store: SqliteStore
let svc: FleetService
let sim: SimSession | undefined
const lines: string[] = []

before(async () => {
    dir = mkdtempSync(join(tmpdir(), "fleet-wss-test-"))
    const tls = createTlsMaterial()
    caFile = join(dir, "ca.pem")
    writeFileSync(caFile, tls.ca)
    store = new SqliteStore(join(dir, "fleet.db"))
    const artifacts = new ArtifactStore(join(dir, "artifacts"))
    for (const v of ["v1", "v2"])
        publishSigned(
            store,
            artifacts,
            v,
            await buildFirmware(`test/fixtures/fleet-app-${v}.ts`)
        )
    store.upsertDevice({
        id: "sim1",
        key: newDeviceKey().toString("hex"),
        groups: [],
        platformId: "",
        createdAt: 0,
    })
    svc = await startFleetService({
        store,
        artifacts,
        releaseKey: releaseKeys.publicKey,
        tls: { cert: tls.cert, key: tls.key },
        // the fixture programs never use the socket: the service may hold the link
        holdMs: 600_000,
        log: l => lines.push(l),
    })
})

after(async () => {
    await sim?.stop()
    await svc?.close()
    store?.close()
    rmSync(dir, { recursive: true, force: true })
})

test("the simulated device takes v2 over wss:// from the service's own TLS endpoint", async () => {
    const cs = svc.connectionString("sim1")
    assert.match(cs, /^wss:\/\/wssk:[0-9a-f]{64}@127\.0\.0\.1:\d+\/wssk\/sim1$/)
    sim = await startSim({
        entry: "test/fixtures/fleet-app-v1.ts",
        waitForPortsMs: WAIT_FOR_PORTS_MS,
        env: { NODE_EXTRA_CA_CERTS: caFile },
        echo: !!process.env.E2E_ECHO,
    })
    await sim.waitForLine(/fleet-app v1 running/)
    await sendFramesToSimBus([setConnectionStringFrame(cs)])
    await waitUntil(
        () => store.state("sim1").currentHash !== "",
        CHECK_IN_MS,
        "GetHash answer over wss",
        sim
    )
    assert.equal(
        store.state("sim1").currentHash,
        store.versionByName("v1")!.hash
    )
    assign(store, "v1", { kind: "all" })
    assign(store, "v2", parseScope("device:sim1"))
    await sim.waitForLine(/fleet-app v2 running/, CHECK_IN_MS)
    await waitUntil(
        () =>
            store.state("sim1").lastDeployResult === "ok" &&
            store.state("sim1").currentHash === store.versionByName("v2")!.hash,
        20_000,
        "v2 recorded",
        sim
    )
    assert.ok(
        lines.some(l => /sim1: deployed v2/.test(l)),
        lines.join("\n")
    )
})
