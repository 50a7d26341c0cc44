// wss:// end to end: the fleet service serves TLS itself (a certificate from
// a local CA, which the simulator trusts through NODE_EXTRA_CA_CERTS), the
// real runtime in the simulator connects with a wss:// connection string,
// and receives v2 over it. (A board trusts only its fixed CA bundle, so in
// the field the certificate must come from a public CA.)
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { parseScope } from "../../host/fleet/rollout/desired.ts"
import { assign } from "../../host/fleet/rollout/actions.ts"
import { createTlsMaterial } from "../../host/platform/certs.ts"
import type { SimSession } from "../../host/sim/index.ts"
import { waitUntil, deviceLines } from "./e2e-helpers.ts"
import {
    CHECK_IN_MS,
    startFleetAppSim,
    startSimFleet,
    type SimFleet,
} from "./fleet-sim-helpers.ts"

let fleet: SimFleet
let caFile: string
let sim: SimSession | undefined

before(async () => {
    const tls = createTlsMaterial()
    fleet = await startSimFleet("fleet-wss-test-", {
        tls: { cert: tls.cert, key: tls.key },
    })
    caFile = join(fleet.fleet.dir, "ca.pem")
    writeFileSync(caFile, tls.ca)
})

after(async () => {
    await sim?.stop()
    await fleet?.close()
})

test("the simulated device takes v2 over wss:// from the service's own TLS endpoint", async () => {
    const { store } = fleet.fleet
    const cs = await fleet.svc.connectionString("sim1")
    assert.match(cs, /^wss:\/\/wssk:[0-9a-f]{64}@127\.0\.0\.1:\d+\/wssk\/sim1$/)
    sim = await startFleetAppSim(cs, { NODE_EXTRA_CA_CERTS: caFile })
    await waitUntil(
        async () => (await store.state("sim1")).currentHash !== "",
        CHECK_IN_MS,
        "GetHash answer over wss",
        deviceLines(sim)
    )
    assert.equal(
        (await store.state("sim1")).currentHash,
        (await store.versionByName("v1"))!.hash
    )
    await assign(store, "v1", { kind: "all" })
    await assign(store, "v2", parseScope("device:sim1"))
    await sim.waitForLine(/fleet-app v2 running/, CHECK_IN_MS)
    await waitUntil(
        async () =>
            (await store.state("sim1")).lastDeployResult === "ok" &&
            (await store.state("sim1")).currentHash ===
                (await store.versionByName("v2"))!.hash,
        20_000,
        "v2 recorded",
        deviceLines(sim)
    )
    assert.ok(
        fleet.lines.some(l => /sim1: deployed v2/.test(l)),
        fleet.lines.join("\n")
    )
})
