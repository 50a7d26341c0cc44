// Progress in the command-line tools: the text bar, the terminal counter,
// `fleet status` drawing each rollout as a bar, and `provision images`
// counting on a terminal (a pseudo-terminal from util-linux `script`).
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { buildFirmware } from "../../host/lib/build.ts"
import { textBar, TtyProgress } from "../../host/lib/cli-progress.ts"
import { parseScope, percentMembers } from "../../host/fleet/rollout/desired.ts"
import { assign } from "../../host/fleet/rollout/actions.ts"
import { prepareStateDir } from "../../host/fleet/service/state-dir.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"

let dir: string
before(() => {
    dir = mkdtempSync(join(tmpdir(), "console-cli-progress-"))
})
after(() => rmSync(dir, { recursive: true, force: true }))

test("textBar: good, bad and still to do, in proportion", () => {
    assert.equal(textBar(0, 6), "[--------------------]")
    assert.equal(textBar(3, 6), "[##########----------]")
    assert.equal(textBar(6, 6), "[####################]")
    assert.equal(textBar(2, 8, 2, 8), "[##xx----]")
    assert.equal(textBar(0, 0), "[--------------------]")
    assert.equal(textBar(9, 3), "[####################]")
})

test("TtyProgress redraws one line on a terminal and prints only the lines elsewhere", () => {
    const run = (isTTY: boolean) => {
        const out: string[] = []
        let err = ""
        const p = new TtyProgress(
            "images",
            2,
            { isTTY, write: s => (err += s) },
            l => out.push(l)
        )
        p.log("a: written")
        p.tick()
        p.log("b: written")
        p.tick()
        p.end()
        return { out, err }
    }
    const tty = run(true)
    assert.deepEqual(tty.out, ["a: written", "b: written"])
    assert.match(tty.err, /images 0\/2 \[-{20}\]/)
    assert.match(tty.err, /images 1\/2 \[#{10}-{10}\]/)
    assert.match(tty.err, /images 2\/2 \[#{20}\]\r\x1b\[K$/)
    const pipe = run(false)
    assert.deepEqual(pipe.out, ["a: written", "b: written"])
    assert.equal(pipe.err, "")
})

test("fleet status draws each rollout as a bar", async () => {
    const state = join(dir, "fleet")
    prepareStateDir(state)
    const store = new SqliteStore(join(state, "fleet.db"))
    const hash = (c: string) => c.repeat(64)
    for (const [name, h] of [
        ["v1", hash("1")],
        ["v2", hash("2")],
    ])
        await store.addVersion({
            name,
            hash: h,
            size: 416,
            note: "",
            publishedAt: Date.now(),
            signature: "",
        })
    for (const id of ["a", "b", "c", "d"]) {
        await store.upsertDevice({
            id,
            key: "00".repeat(32),
            groups: [],
            platformId: "",
            createdAt: 0,
        })
        await store.updateState(id, { currentHash: hash("1") })
    }
    await assign(store, "v1", parseScope("all"))
    await assign(store, "v2", parseScope("50%"))
    // of the two canary devices one runs v2, the other's deploy failed
    const [ok, bad] = [...percentMembers("v2", 50, ["a", "b", "c", "d"])]
    await store.updateState(ok, { currentHash: hash("2") })
    await store.updateState(bad, {
        lastDeployHash: hash("2"),
        lastDeployResult: "failed",
    })
    await store.close()
    const r = spawnSync(
        process.execPath,
        ["--import", "tsx", "host/fleet/cli.ts", "status", "--state", state],
        { encoding: "utf8", timeout: 60_000 }
    )
    assert.equal(r.status, 0, r.stderr)
    assert.match(
        r.stdout,
        /^rollout 2 v2 to 50% \[#{10}x{10}\] 1\/2 updated, 1 failed, in progress$/m
    )
    assert.match(
        r.stdout,
        /^rollout 1 v1 to all \[#{20}\] 2\/2 updated, done$/m
    )
})

test("provision images counts with the total on a terminal", async () => {
    const devs = join(dir, "app.devs")
    writeFileSync(devs, await buildFirmware("test/fixtures/fleet-app-v1.ts"))
    const csv = join(dir, "fleet.csv")
    writeFileSync(
        csv,
        "productKey,deviceName,deviceSecret\n" +
            [1, 2, 3]
                .map(
                    i =>
                        `a1Progress1,dev-${i},secretPROG000${i}aaaaaaaaaaaaaaaa0${i}`
                )
                .join("\n") +
            "\n"
    )
    const cmd = [
        process.execPath,
        "--import tsx host/provision/cli.ts images",
        csv,
        "--board esp32c3_devkit_shtc3 --devs",
        devs,
        "--out",
        join(dir, "img"),
    ].join(" ")
    // `script` gives the command a pseudo-terminal, as a user's shell would
    const r = spawnSync("script", ["-qec", cmd, "/dev/null"], {
        encoding: "utf8",
        timeout: 120_000,
    })
    assert.equal(r.status, 0, r.stdout + r.stderr)
    for (const n of [0, 1, 2, 3])
        assert.match(r.stdout, new RegExp(`images ${n}/3 \\[`), r.stdout)
    assert.match(r.stdout, /wrote 3 image\(s\)/)
    // without a terminal: the lines only
    const plain = spawnSync("sh", ["-c", cmd], {
        encoding: "utf8",
        timeout: 120_000,
    })
    assert.equal(plain.status, 0, plain.stderr)
    assert.doesNotMatch(plain.stdout + plain.stderr, /images \d\/3/)
    assert.match(plain.stdout, /a1Progress1__dev-3: \d+ bytes/)
})
