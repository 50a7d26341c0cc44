/**
 * What `npm test -- --fast` leaves out: the host test files that start the
 * simulator (found through their imports, helpers included; type-only
 * imports do not count) and the integration files named in test-tiers.ts.
 */
import { test } from "node:test"
import assert from "node:assert/strict"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { tmpdir } from "node:os"
import {
    INTEGRATION_HOST_FILES,
    leftOutOfFast,
} from "../../host/testkit/test-tiers.ts"
import { SIMULATOR_ENTRY, reaches } from "../../host/testkit/test-imports.ts"

const hostTests = join(import.meta.dirname)

test("the files that start the simulator are left out, directly or through a helper", () => {
    for (const name of [
        "sim.test.ts",
        "e2e-platform.test.ts",
        "fleet-sim.test.ts",
    ])
        assert.equal(
            leftOutOfFast(join(hostTests, name)),
            "starts the simulator",
            name
        )
    for (const name of [
        "platform-logic.test.ts",
        "fleet-service.test.ts",
        "crypto-oracle.test.ts",
    ])
        assert.equal(leftOutOfFast(join(hostTests, name)), undefined, name)
})

test("a type-only import of the simulator does not count; a value import does", () => {
    const dir = mkdtempSync(join(tmpdir(), "test-tiers-"))
    const sim = relative(dir, SIMULATOR_ENTRY)
    try {
        const typeOnly = join(dir, "a.test.ts")
        writeFileSync(typeOnly, `import type { SimSession } from "${sim}"\n`)
        assert.equal(reaches(typeOnly, SIMULATOR_ENTRY), false)
        const value = join(dir, "b.test.ts")
        writeFileSync(value, `import { startSession } from "${sim}"\n`)
        assert.equal(reaches(value, SIMULATOR_ENTRY), true)
        const helper = join(dir, "c.test.ts")
        writeFileSync(helper, `import { x } from "./b.test.ts"\n`)
        assert.equal(reaches(helper, SIMULATOR_ENTRY), true)
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
})

test("every integration file named exists and is left out with its reason", () => {
    for (const [name, reason] of Object.entries(INTEGRATION_HOST_FILES)) {
        const file = join(hostTests, name)
        assert.ok(existsSync(file), `${name} is not in test/host`)
        assert.equal(leftOutOfFast(file), reason)
    }
})
