// The rollout CLI end to end on a state directory: publish (refusing a
// damaged build), register, assign a canary, widen, stop, roll back, show.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import {
    chmodSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readdirSync,
    readFileSync,
    rmSync,
    statSync,
    writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { buildFirmware } from "../../host/lib/build.ts"
import { parseConnectionString } from "../../host/fleet/device/protocol.ts"
import { prepareServiceState, serveState } from "./fleet-helpers.ts"

let dir: string
let priv: string
let pub: string
before(async () => {
    dir = mkdtempSync(join(tmpdir(), "fleet-cli-test-"))
    const keys = fleet("keygen", "--out", join(dir, "keys"))
    assert.equal(keys.code, 0, keys.out)
    priv = join(dir, "keys", "release-key.pem")
    pub = join(dir, "keys", "release-key.pub")
    writeFileSync(
        join(dir, "v1.devs"),
        await buildFirmware("test/fixtures/fleet-app-v1.ts")
    )
    const v2 = await buildFirmware("test/fixtures/fleet-app-v2.ts")
    writeFileSync(join(dir, "v2.devs"), v2)
    writeFileSync(join(dir, "cut.devs"), v2.subarray(0, v2.length - 40))
})
after(() => rmSync(dir, { recursive: true, force: true }))

/** `fleet publish FILE NAME`, signed with the test's release key. */
function publish(file: string, name: string) {
    return fleet("publish", file, name, "--key", priv, "--release-key", pub)
}

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
        publish(join(dir, "v1.devs"), "v1").out,
        /published v1: [0-9a-f]{64}/
    )
    const cut = publish(join(dir, "cut.devs"), "v2")
    assert.equal(cut.code, 1)
    assert.match(cut.out, /truncated or corrupted|decoder refused/)
    assert.equal(publish(join(dir, "v2.devs"), "v2").code, 0)
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

test("publish needs a release signature that checks against the trusted key; an oversize image is refused", () => {
    assert.equal(statSync(priv).mode & 0o777, 0o600, "private key 0600")
    assert.match(
        fleet("keygen", "--out", join(dir, "keys")).out,
        /not overwriting/
    )
    const v2 = readFileSync(join(dir, "v2.devs"))
    const file = join(dir, "v3.devs")
    writeFileSync(file, v2)
    const unsigned = fleet("publish", file, "v3", "--release-key", pub)
    assert.equal(unsigned.code, 1)
    assert.match(unsigned.out, /not signed/)
    // signed with another key
    const other = join(dir, "other-keys")
    assert.equal(fleet("keygen", "--out", other).code, 0)
    const wrong = fleet(
        "publish",
        file,
        "v3",
        "--key",
        join(other, "release-key.pem"),
        "--release-key",
        pub
    )
    assert.equal(wrong.code, 1)
    assert.match(wrong.out, /signature does not match/)
    // a .sig file made for another image
    assert.equal(fleet("sign", join(dir, "v1.devs"), "--key", priv).code, 0)
    writeFileSync(`${file}.sig`, readFileSync(join(dir, "v1.devs.sig")))
    assert.match(
        fleet("publish", file, "v3", "--release-key", pub).out,
        /signature does not match/
    )
    // bigger than a board's program area, though signed with the right key
    const big = join(dir, "big.devs")
    writeFileSync(big, Buffer.concat([v2, Buffer.alloc(240 * 1024)]))
    const oversize = publish(big, "big")
    assert.equal(oversize.code, 1)
    assert.match(oversize.out, /too large.*program area holds 229248/)
    assert.doesNotMatch(fleet("versions").out, /v3|big/)
    // the state: directory 0700, database and artifacts 0600
    const state = join(dir, "state")
    assert.equal(statSync(state).mode & 0o777, 0o700)
    assert.equal(statSync(join(state, "artifacts")).mode & 0o777, 0o700)
    for (const f of readdirSync(join(state, "artifacts")))
        assert.equal(
            statSync(join(state, "artifacts", f)).mode & 0o777,
            0o600,
            f
        )
    for (const f of readdirSync(state).filter(f => f.startsWith("fleet.db")))
        assert.equal(statSync(join(state, f)).mode & 0o777, 0o600, f)
})

test("serve refuses a state directory that group or others can write", () => {
    const state = join(dir, "shared-state")
    mkdirSync(state)
    chmodSync(state, 0o775)
    const r = spawnSync(
        process.execPath,
        [
            "--import",
            "tsx",
            "host/fleet/cli.ts",
            "serve",
            "--state",
            state,
            "--release-key",
            pub,
        ],
        { encoding: "utf8", timeout: 60_000 }
    )
    assert.equal(r.status, 1)
    assert.match(r.stderr, /writable by its group \(mode 775\).*chmod 700/)
    assert.equal(existsSync(join(state, "fleet.db")), false, "nothing created")
})

test("a second serve on a state directory in use is refused; the running one keeps its control socket", async () => {
    const s = await prepareServiceState("fleet-cli-lock-", {
        images: { v1: readFileSync(join(dir, "v1.devs")) },
        devices: {},
        assigned: "v1",
    })
    const first = await serveState(s)
    try {
        const second = spawnSync(
            process.execPath,
            [
                "--import",
                "tsx",
                "host/fleet/cli.ts",
                "serve",
                "--state",
                s.state,
                "--release-key",
                s.pub,
                "--port",
                "0",
            ],
            { encoding: "utf8", timeout: 60_000 }
        )
        assert.equal(second.status, 1, second.stderr)
        assert.match(
            second.stderr,
            new RegExp(`in use by another fleet service \\(pid ${first.pid}\\)`)
        )
        // the first still answers on its control socket
        assert.ok(existsSync(join(s.state, "service.sock")))
        const status = spawnSync(
            process.execPath,
            [
                "--import",
                "tsx",
                "host/fleet/cli.ts",
                "status",
                "--state",
                s.state,
            ],
            { encoding: "utf8", timeout: 60_000 }
        )
        assert.equal(status.status, 0, status.stderr)
        assert.doesNotMatch(status.stdout, /no service answers/)
    } finally {
        await first.stop("SIGKILL")
    }
    // killed: its lock is stale, and the next serve takes the directory over
    const again = await serveState(s)
    await again.stop()
    assert.equal(await again.exited, 0, "SIGTERM: closed, exited 0")
    assert.equal(existsSync(join(s.state, "serve.lock")), false, "released")
    rmSync(s.dir, { recursive: true, force: true })
})

test("serve refuses a --tls-key that others can read, naming the chmod that fixes it", () => {
    const keyFile = join(dir, "tls-key.pem")
    writeFileSync(keyFile, "not read", { mode: 0o644 })
    chmodSync(keyFile, 0o644)
    const r = spawnSync(
        process.execPath,
        [
            "--import",
            "tsx",
            "host/fleet/cli.ts",
            "serve",
            "--state",
            join(dir, "tls-state"),
            "--release-key",
            pub,
            "--tls-cert",
            keyFile,
            "--tls-key",
            keyFile,
        ],
        { encoding: "utf8", timeout: 60_000 }
    )
    assert.equal(r.status, 1)
    assert.match(r.stderr, /readable by others \(mode 644\)/)
    assert.match(r.stderr, new RegExp(`chmod 600 ${keyFile}`))
    assert.equal(existsSync(join(dir, "tls-state")), false, "nothing opened")
})

test("names an operator gives with hidden characters are refused: --group, --reason", () => {
    const group = fleet("add-device", "e", "--group", "lab\u202Eevil")
    assert.equal(group.code, 1)
    assert.match(group.out, /--group: \\u202E .*not allowed/)
    assert.doesNotMatch(fleet("status").out, /\u202E/)
    const reason = fleet("stop", "--reason", "ok\u001b[2J")
    assert.equal(reason.code, 1)
    assert.match(reason.out, /--reason: \\u001B/)
})
