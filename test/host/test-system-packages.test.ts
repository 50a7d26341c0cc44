/**
 * What `npm test` does about the Debian packages its test files need:
 * which files need which package (through their imports), and the decision
 * from what is missing and how the machine can install it. Nothing is
 * installed here.
 */
import { test } from "node:test"
import assert from "node:assert/strict"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { tmpdir } from "node:os"
import {
    SYSTEM_PACKAGES,
    packagesNeeded,
    setupAction,
    type InstallMeans,
} from "../../host/testkit/test-system-packages.ts"

const hostTests = join(import.meta.dirname)
const needs = (name: string) =>
    packagesNeeded([join(hostTests, name)]).map(p => p.name)

const CHROMIUM = { name: "chromium", neededBy: "the browser tests" }
const POSTGRESQL = { name: "postgresql", neededBy: "the PostgreSQL tests" }
const ROOT: InstallMeans = { root: true, sudo: "none", aptGet: true }
const APT = "env DEBIAN_FRONTEND=noninteractive apt-get"

test("the browser tests need chromium, the PostgreSQL tests postgresql, through helpers too", () => {
    assert.deepEqual(needs("console.test.ts"), ["chromium"])
    assert.deepEqual(needs("console-readme-e2e.test.ts"), ["chromium"])
    assert.deepEqual(needs("fleet-store-backends.test.ts"), ["postgresql"])
    // through shared-store.ts
    assert.deepEqual(needs("fleet-instances.test.ts"), ["postgresql"])
    for (const name of [
        "crypto-oracle.test.ts",
        "fleet-store.test.ts",
        "test-tiers.test.ts",
    ])
        assert.deepEqual(needs(name), [], name)
    assert.deepEqual(
        packagesNeeded([
            join(hostTests, "fleet-instances.test.ts"),
            join(hostTests, "console.test.ts"),
        ]).map(p => p.name),
        ["chromium", "postgresql"]
    )
})

test("a file needs a package when its value imports reach the module that uses it", () => {
    const dir = mkdtempSync(join(tmpdir(), "test-packages-"))
    const pg = SYSTEM_PACKAGES.find(p => p.name === "postgresql")!
    try {
        const typeOnly = join(dir, "a.test.ts")
        writeFileSync(
            typeOnly,
            `import type { LocalPostgres } from "${relative(dir, pg.usedThrough)}"\n`
        )
        assert.deepEqual(packagesNeeded([typeOnly]), [])
        const value = join(dir, "b.test.ts")
        writeFileSync(
            value,
            `import { startLocalPostgres } from "${relative(dir, pg.usedThrough)}"\n`
        )
        assert.deepEqual(packagesNeeded([value]), [pg])
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
})

test("every package's module exists", () => {
    for (const p of SYSTEM_PACKAGES)
        assert.ok(existsSync(p.usedThrough), `${p.name}: ${p.usedThrough}`)
})

test("nothing missing: ready, whatever the machine allows", () => {
    for (const means of [
        ROOT,
        { root: false, sudo: "none", aptGet: false } as const,
    ])
        assert.deepEqual(setupAction([], means), { kind: "ready" })
})

test("as root: apt-get update, then install exactly the missing packages", () => {
    assert.deepEqual(setupAction([CHROMIUM, POSTGRESQL], ROOT), {
        kind: "install",
        commands: [
            `${APT} update -q`.split(" "),
            `${APT} install -y -q chromium postgresql`.split(" "),
        ],
    })
    assert.deepEqual(setupAction([POSTGRESQL], ROOT), {
        kind: "install",
        commands: [
            `${APT} update -q`.split(" "),
            `${APT} install -y -q postgresql`.split(" "),
        ],
    })
})

test("not root, sudo without a password: the same through sudo -n", () => {
    const action = setupAction([CHROMIUM], {
        root: false,
        sudo: "passwordless",
        aptGet: true,
    })
    assert.deepEqual(action, {
        kind: "install",
        commands: [
            `sudo -n ${APT} update -q`.split(" "),
            `sudo -n ${APT} install -y -q chromium`.split(" "),
        ],
    })
})

test("not root, and sudo asks for a password or is absent: stop, saying what to run", () => {
    const withSudo = setupAction([CHROMIUM, POSTGRESQL], {
        root: false,
        sudo: "password",
        aptGet: true,
    })
    assert.equal(withSudo.kind, "stop")
    const m = withSudo.kind === "stop" ? withSudo.message : ""
    assert.match(
        m,
        /\n {2}sudo apt-get update && sudo apt-get install -y chromium postgresql\n/
    )
    assert.match(m, /chromium: the browser tests/)
    assert.match(m, /postgresql: the PostgreSQL tests/)
    assert.match(m, /sudo asks for a password/)

    const noSudo = setupAction([POSTGRESQL], {
        root: false,
        sudo: "none",
        aptGet: true,
    })
    assert.equal(noSudo.kind, "stop")
    const n = noSudo.kind === "stop" ? noSudo.message : ""
    assert.match(
        n,
        /Run as root:\n {2}apt-get update && apt-get install -y postgresql\n/
    )
    assert.doesNotMatch(n, /chromium/)
})

test("no apt-get: stop, naming what to install", () => {
    const action = setupAction([CHROMIUM], { ...ROOT, aptGet: false })
    assert.equal(action.kind, "stop")
    const m = action.kind === "stop" ? action.message : ""
    assert.match(m, /no apt-get/)
    assert.match(m, /chromium: the browser tests/)
    assert.match(m, /npm test -- NAME/)
})
