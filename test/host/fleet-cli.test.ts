// The rollout CLI end to end on a state directory: publish (refusing a
// damaged build), register, assign a canary, widen, stop, roll back, show.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { buildFirmware } from "../../host/build.ts"
import { parseConnectionString } from "../../host/fleet/protocol.ts"

let dir: string
before(async () => {
    dir = mkdtempSync(join(tmpdir(), "fleet-cli-test-"))
    writeFileSync(
        join(dir, "v1.devs"),
        await buildFirmware("test/fixtures/fleet-app-v1.ts")
    )
    const v2 = await buildFirmware("test/fixtures/fleet-app-v2.ts")
    writeFileSync(join(dir, "v2.devs"), v2)
    writeFileSync(join(dir, "cut.devs"), v2.subarray(0, v2.length - 40))
})
after(() => rmSync(dir, { recursive: true, force: true }))

function fleet(...args: string[]) {
    const r = spawnSync(
        process.execPath,
        [
            "--import",
            "tsx",
            "host/fleet/cli.ts",
            "--state",
            join(dir, "state"),
            ...args,
        ],
        { encoding: "utf8" }
    )
    return { code: r.status, out: r.stdout + r.stderr }
}

test("publish, register, canary, widen, stop, rollback and status through the CLI", () => {
    assert.match(
        fleet("publish", join(dir, "v1.devs"), "v1").out,
        /published v1: [0-9a-f]{64}/
    )
    const cut = fleet("publish", join(dir, "cut.devs"), "v2")
    assert.equal(cut.code, 1)
    assert.match(cut.out, /truncated or corrupted|decoder refused/)
    assert.equal(fleet("publish", join(dir, "v2.devs"), "v2").code, 0)
    for (const id of ["a", "b", "c", "d"]) {
        const r = fleet(
            "add-device",
            id,
            "--group",
            id < "c" ? "lab" : "field",
            "--port",
            "9000"
        )
        const cs = parseConnectionString(r.out.trim())
        assert.equal(cs.path, `/wssk/${id}`)
        assert.equal(cs.port, 9000)
    }
    assert.match(fleet("assign", "v1", "all").out, /rollout 1: v1 to all/)
    assert.match(fleet("assign", "v2", "50%").out, /rollout 2: v2 to 50%/)
    let status = fleet("status").out
    assert.equal(status.match(/'v2'/g)?.length, 2, status)
    assert.match(fleet("widen", "100%").out, /rollout 2: v2 to 100%/)
    assert.equal(fleet("status").out.match(/'v2'/g)?.length, 4)
    assert.match(
        fleet("stop", "--reason", "canary broke").out,
        /rollout 2 \(v2\) stopped/
    )
    assert.match(fleet("rollouts").out, /canary broke/)
    assert.equal(
        fleet("status").out.match(/'v2'/g),
        null,
        "stopped: nobody on v2 yet keeps it assigned"
    )
    assert.match(fleet("rollback").out, /rollout 2 \(v2\) rolled back/)
    assert.match(fleet("versions").out, /v1[\s\S]*v2/)
    assert.equal(fleet("assign", "v3", "all").code, 1)
})
