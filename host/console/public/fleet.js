// The fleet view: rollouts with their progress bars and actions, the
// device table (filter, sort), the published versions.
import { confirmAction } from "./actions.js"
import { ago, byId, h, setRows } from "./dom.js"
import { visible } from "./visible.js"

const sort = { key: "id", dir: 1 }
/** Percentages typed into the widen boxes, kept across redraws. */
const widenTo = new Map()

/** An empty progress bar (filled in by {@link updateBar}). */
function progressBar() {
    return h(
        "div",
        {},
        h(
            "div",
            { class: "bar", role: "progressbar", "aria-valuemin": 0 },
            h("div", { class: "bar-ok" }),
            h("div", { class: "bar-failed" })
        ),
        h("span", { class: "bar-text" })
    )
}

/**
 * Shows a rollout's progress in its row: counts as attributes and text,
 * widths through CSSOM (allowed by the page's style policy).
 * @param {HTMLElement} row @param {any} r
 */
function updateBar(row, r) {
    const bar = /** @type {HTMLElement} */ (row.querySelector(".bar"))
    bar.setAttribute("aria-valuemax", r.target)
    bar.setAttribute("aria-valuenow", r.updated)
    bar.dataset.updated = r.updated
    bar.dataset.target = r.target
    bar.dataset.failed = r.failed
    const pct = n => `${r.target ? (100 * n) / r.target : 0}%`
    const ok = /** @type {HTMLElement} */ (row.querySelector(".bar-ok"))
    const failed = /** @type {HTMLElement} */ (row.querySelector(".bar-failed"))
    ok.style.width = pct(r.updated - r.broken)
    failed.style.width = pct(r.failed)
    const text = /** @type {HTMLElement} */ (row.querySelector(".bar-text"))
    text.textContent =
        `${r.updated}/${r.target} updated` +
        (r.failed ? `, ${r.failed} failed` : "") +
        (r.superseded ? ` (${r.superseded} taken over by newer rollouts)` : "")
}

function stateText(r) {
    if (r.status === "rolled-back") return "rolled back"
    if (r.status === "stopped")
        return `stopped${r.reason ? `: ${r.reason}` : ""}`
    if (r.target === 0 && r.superseded) return "taken over by newer rollouts"
    return r.done ? "done" : "in progress"
}

function rolloutActions(r) {
    const out = []
    if (r.status === "rolled-back") return out
    if (r.percent !== undefined && r.percent < 100) {
        const input = h("input", {
            type: "number",
            class: "widen-to",
            min: r.percent,
            max: 100,
            value: widenTo.get(r.id) ?? Math.min(100, r.percent * 2),
            oninput: e => widenTo.set(r.id, e.target.value),
        })
        out.push(
            input,
            h(
                "button",
                {
                    class: "act-widen",
                    onclick: () => {
                        const p = parseFloat(
                            /** @type {HTMLInputElement} */ (input).value
                        )
                        confirmAction(
                            `Widen rollout ${r.id}: ${r.version} from ${r.percent}% to ${p}% of the fleet?`,
                            "widen",
                            { rollout: r.id, percent: p }
                        )
                    },
                },
                "Widen…"
            )
        )
    }
    if (r.status === "active")
        out.push(
            h(
                "button",
                {
                    class: "act-stop",
                    onclick: () =>
                        confirmAction(
                            `Stop rollout ${r.id} (${r.version} to ${r.scope})? No further device gets it; devices that run it keep it.`,
                            "stop",
                            { rollout: r.id }
                        ),
                },
                "Stop…"
            )
        )
    out.push(
        h(
            "button",
            {
                class: "act-rollback danger",
                onclick: () =>
                    confirmAction(
                        `Roll back rollout ${r.id} (${r.version} to ${r.scope})? It counts for nothing any more: its devices return to what older rollouts assign.`,
                        "rollback",
                        { rollout: r.id }
                    ),
            },
            "Roll back…"
        )
    )
    return out
}

/** @param {any} snap */
function renderRollouts(snap) {
    const tbody = /** @type {HTMLElement} */ (
        document.querySelector("#rollouts tbody")
    )
    // rows are updated in place, so a widen box keeps what is typed in it
    /** @type {Map<string, HTMLElement>} */
    const old = new Map()
    for (const tr of tbody.querySelectorAll("tr[data-rollout]"))
        old.set(
            /** @type {HTMLElement} */ (tr).dataset.rollout ?? "",
            /** @type {HTMLElement} */ (tr)
        )
    const rows = [...snap.rollouts].reverse().map(r => {
        const shape = `${r.status} ${r.percent}`
        let row = old.get(String(r.id))
        if (!row || row.dataset.shape !== shape)
            row = h(
                "tr",
                { "data-rollout": r.id, "data-shape": shape },
                h("td", {}, r.id),
                h("td", {}, r.version),
                h("td", {}, r.scope),
                h("td", { class: "state" }),
                h("td", {}, progressBar()),
                h("td", {}, ...rolloutActions(r))
            )
        row.dataset.status = r.status
        row.dataset.done = String(r.done)
        const state = /** @type {HTMLElement} */ (row.querySelector(".state"))
        state.textContent = visible(stateText(r))
        updateBar(row, r)
        return row
    })
    const same =
        rows.length === tbody.children.length &&
        rows.every((r, i) => tbody.children[i] === r)
    if (!same)
        setRows(
            tbody,
            rows.length
                ? rows
                : [
                      h(
                          "tr",
                          {},
                          h(
                              "td",
                              { colspan: 6, class: "muted" },
                              "no rollout yet"
                          )
                      ),
                  ]
        )
    const sel = /** @type {HTMLSelectElement} */ (
        document.getElementById("assign-version")
    )
    const names = snap.versions.map(v => v.name)
    if (sel.dataset.names !== names.join("\n")) {
        const keep = sel.value
        sel.replaceChildren(
            ...[...names].reverse().map(n => h("option", { value: n }, n))
        )
        if (names.includes(keep)) sel.value = keep
        sel.dataset.names = names.join("\n")
    }
}

function matches(d, f) {
    if (!f) return true
    const hay = [
        d.id,
        d.groups.join(","),
        d.current,
        d.desired,
        d.health,
        d.lastDeploy,
        d.lastError,
        d.connected ? "connected" : "offline",
    ]
        .map(visible) // what is shown is what is searched
        .join(" ")
        .toLowerCase()
    return f
        .toLowerCase()
        .split(/\s+/)
        .every(w => hay.includes(w))
}

/** @param {any} snap */
function renderDevices(snap) {
    const filter = /** @type {HTMLInputElement} */ (
        document.getElementById("device-filter")
    ).value.trim()
    const list = snap.devices.filter(d => matches(d, filter))
    const k = sort.key
    list.sort((a, b) => {
        const x = Array.isArray(a[k]) ? a[k].join(",") : a[k]
        const y = Array.isArray(b[k]) ? b[k].join(",") : b[k]
        return (x < y ? -1 : x > y ? 1 : 0) * sort.dir
    })
    for (const th of document.querySelectorAll("#devices th")) {
        const el = /** @type {HTMLElement} */ (th)
        el.classList.toggle("asc", el.dataset.key === k && sort.dir > 0)
        el.classList.toggle("desc", el.dataset.key === k && sort.dir < 0)
    }
    const tbody = /** @type {HTMLElement} */ (
        document.querySelector("#devices tbody")
    )
    setRows(
        tbody,
        list.map(d =>
            h(
                "tr",
                {
                    "data-device": d.id,
                    "data-current": d.current,
                    "data-health": d.health,
                },
                h(
                    "td",
                    {},
                    h(
                        "a",
                        { href: `#device/${encodeURIComponent(d.id)}` },
                        d.id
                    )
                ),
                h("td", {}, d.groups.join(", ")),
                h(
                    "td",
                    {
                        class:
                            d.current !== d.desired && d.desired !== "-"
                                ? "muted"
                                : "",
                    },
                    d.current
                ),
                h("td", {}, d.desired),
                h("td", { class: `health-${d.health}` }, d.health),
                h("td", {}, d.connected ? "yes" : "no"),
                h("td", {}, ago(d.lastSeen)),
                h(
                    "td",
                    { class: `result-${d.lastDeploy}` },
                    d.lastDeploy
                        ? `${d.lastDeploy}, ${ago(d.lastDeployAt)}`
                        : "-"
                ),
                h(
                    "td",
                    {},
                    // failed handshakes, when there were any, say someone tries its id
                    d.lastError ||
                        (/^\d/.test(d.handshakes) ? d.handshakes : "")
                )
            )
        )
    )
    byId("device-count").textContent = filter
        ? `${list.length} of ${snap.devices.length}`
        : `${snap.devices.length}`
}

/** @param {any} snap */
function renderVersions(snap) {
    const sigText = {
        verified: `signed, verified (key ${snap.releaseKey})`,
        bad: "signature does NOT verify",
        unsigned: "unsigned (refused at deploy)",
        signed: "signed (no release key here to check it)",
    }
    const tbody = /** @type {HTMLElement} */ (
        document.querySelector("#versions tbody")
    )
    setRows(
        tbody,
        [...snap.versions]
            .reverse()
            .map(v =>
                h(
                    "tr",
                    { "data-version": v.name, "data-signature": v.signature },
                    h("td", {}, v.name),
                    h("td", { title: v.hash }, v.hash.slice(0, 16)),
                    h("td", {}, `${v.size} B`),
                    h(
                        "td",
                        { class: `sig-${v.signature}` },
                        sigText[v.signature] ?? v.signature
                    ),
                    h("td", {}, ago(v.publishedAt)),
                    h("td", {}, v.note)
                )
            )
    )
}

/** Draws the fleet view from a snapshot (`times`: only what shows ages). @param {any} snap @param {boolean} [times] */
export function renderFleet(snap, times) {
    if (!times) renderRollouts(snap)
    renderDevices(snap)
    renderVersions(snap)
    byId("service").textContent = snap.serviceRunning
        ? "fleet service running"
        : "no fleet service answers on this state directory"
}

/** Wires the filter, the sortable headers and the assign form. @param {() => any} current */
export function setUpFleet(current) {
    const again = () => current() && renderDevices(current())
    document.getElementById("device-filter")?.addEventListener("input", again)
    for (const th of document.querySelectorAll("#devices th"))
        th.addEventListener("click", () => {
            const key = /** @type {HTMLElement} */ (th).dataset.key ?? "id"
            sort.dir = sort.key === key ? -sort.dir : 1
            sort.key = key
            again()
        })
    document.getElementById("assign-form")?.addEventListener("submit", e => {
        e.preventDefault()
        const version = /** @type {HTMLSelectElement} */ (
            document.getElementById("assign-version")
        ).value
        const scope = /** @type {HTMLInputElement} */ (
            document.getElementById("assign-scope")
        ).value.trim()
        confirmAction(
            `Assign ${version} to ${scope}? A new rollout: the devices it covers get ${version} when they next check in.`,
            "assign",
            { version, scope }
        )
    })
}
