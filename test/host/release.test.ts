/**
 * `npm run release -- VERSION` as its own process: the image carries the
 * version, is signed when a key is there (and the signature verifies), is
 * left unsigned (with any old signature removed) when none is, and a bad
 * version or key file is one line and a non-zero exit before any build.
 */
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import {
    existsSync,
    mkdtempSync,
    readFileSync,
    rmSync,
    writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { projectRoot } from "../../host/lib/devs.ts"
import { inspectImage } from "../../host/fleet/release/artifacts.ts"
import {
    loadPublicKey,
    verifyRelease,
    writeReleaseKeys,
} from "../../host/fleet/release/signing.ts"

let dir: string

before(() => {
    dir = mkdtempSync(join(tmpdir(), "release-test-"))
})

after(() => rmSync(dir, { recursive: true, force: true }))

/** `npm run release -- ARGS` with keys looked up under `config`. */
function release(args: string[], config = join(dir, "no-config")) {
    return new Promise<{ code: number | null; out: string }>(resolve => {
        const child = spawn(
            "npm",
            ["run", "--silent", "release", "--", ...args],
            {
                cwd: projectRoot,
                env: { ...process.env, XDG_CONFIG_HOME: config },
                stdio: ["ignore", "pipe", "pipe"],
            }
        )
        let out = ""
        child.stdout!.on("data", d => (out += d))
        child.stderr!.on("data", d => (out += d))
        child.on("exit", code => resolve({ code, out }))
    })
}

test("a bad version or a missing key file: one line, non-zero exit, nothing written", async () => {
    for (const v of ["v2.0.0", "2.0", "2.0.0-rc1", "../2.0.0"]) {
        const r = await release([v, "--out", join(dir, "bad.devs")])
        assert.equal(r.code, 2, r.out)
        assert.match(r.out, /^release: VERSION is x\.y\.z/)
    }
    const r = await release([
        "1.0.0",
        "--out",
        join(dir, "bad.devs"),
        "--key",
        join(dir, "nope.pem"),
    ])
    assert.equal(r.code, 1, r.out)
    assert.equal(
        r.out.trim(),
        `release: --key ${join(dir, "nope.pem")}: no such file`
    )
    assert.ok(!existsSync(join(dir, "bad.devs")))
})

test("with the default release key: the image reports the version and VERSION.devs.sig verifies", async () => {
    const config = join(dir, "config")
    const { publicFile } = writeReleaseKeys(join(config, "devs-fleet"))
    const out = join(dir, "rel", "3.1.4.devs")
    const r = await release(["3.1.4", "--out", out], config)
    assert.equal(r.code, 0, r.out)
    const image = readFileSync(out)
    inspectImage(image)
    assert.ok(image.includes("v3.1.4\0"))
    assert.match(r.out, /signed: .*3\.1\.4\.devs\.sig/)
    const sig = readFileSync(`${out}.sig`, "utf8").trim()
    assert.doesNotThrow(() =>
        verifyRelease(image, sig, loadPublicKey(publicFile))
    )
})

test("without a key: written unsigned, and a signature left from an earlier build is removed", async () => {
    const out = join(dir, "unsigned.devs")
    writeFileSync(`${out}.sig`, "stale\n")
    const r = await release(["0.9.0", "--out", out])
    assert.equal(r.code, 0, r.out)
    assert.match(r.out, /not signed: no release key/)
    assert.ok(readFileSync(out).includes("v0.9.0\0"))
    assert.ok(!existsSync(`${out}.sig`))
})
