// A device's page: what the fleet knows of it and its event log.
import { confirmAction } from "./actions.js"
import { ago, h } from "./dom.js"
import { consoleFetch } from "./token.js"

/**
 * Draws the page of device `id` into `root` (fetched afresh each time).
 * @param {HTMLElement} root @param {string} id
 */
export async function renderDevice(root, id) {
    const r = await consoleFetch(`/api/device?id=${encodeURIComponent(id)}`)
    if (!r.ok) {
        root.replaceChildren(
            h("p", {}, `no device ${id}`),
            h("a", { href: "#fleet" }, "back to the fleet")
        )
        return
    }
    const { device: d, events } = await r.json()
    const field = (k, v) => h("tr", {}, h("th", {}, k), h("td", {}, v))
    root.replaceChildren(
        h("p", {}, h("a", { href: "#fleet" }, "← fleet")),
        h("h2", {}, `Device ${d.id}`),
        h(
            "table",
            { class: "device-info", "data-device": d.id },
            field("groups", d.groups.join(", ") || "-"),
            field("platform identity", d.platformId || "-"),
            field("runs", d.current),
            field("assigned", d.desired),
            field(
                "health",
                h("span", { class: `health-${d.health}` }, d.health)
            ),
            field("connected", d.connected ? "yes" : "no"),
            field("last seen", ago(d.lastSeen)),
            field(
                "last deploy",
                d.lastDeploy ? `${d.lastDeploy}, ${ago(d.lastDeployAt)}` : "-"
            ),
            field("last error", d.lastError || "-"),
            field("failed handshakes", d.handshakes)
        ),
        h(
            "p",
            {},
            h(
                "button",
                {
                    class: "act-rollback-device danger",
                    onclick: () =>
                        confirmAction(
                            `Roll back device ${d.id} alone to the version it ran before ${d.desired}?`,
                            "rollback",
                            { device: d.id }
                        ),
                },
                "Roll back this device…"
            )
        ),
        h("h2", {}, `Event log (${events.length})`),
        h(
            "table",
            { class: "events" },
            h(
                "thead",
                {},
                h(
                    "tr",
                    {},
                    h("th", {}, "time"),
                    h("th", {}, "event"),
                    h("th", {}, "detail")
                )
            ),
            h(
                "tbody",
                {},
                ...[...events]
                    .reverse()
                    .map(e =>
                        h(
                            "tr",
                            {},
                            h(
                                "td",
                                {},
                                new Date(e.at)
                                    .toISOString()
                                    .replace("T", " ")
                                    .slice(0, 19)
                            ),
                            h("td", {}, e.kind),
                            h("td", {}, e.detail)
                        )
                    )
            )
        )
    )
}
