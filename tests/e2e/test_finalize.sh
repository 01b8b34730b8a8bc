#!/usr/bin/env bash
# shellcheck disable=SC2016  # jq programs are single-quoted on purpose
# End to end: `tracup indices`, `prune-indices` and `finalize` on a stack whose
# Elasticsearch holds 0.7.4, 0.8.0, 0.8.1 (and after the upgrade 0.8.2) indices and
# one index that is not Tracardi's:
#   1. indices groups them by release, marks live and orphans, and counts the budget
#      as Elasticsearch does;
#   2. prune refuses the live release, an unknown one, and changes nothing unconfirmed;
#   3. a shard limit too low: plan refuses with the numbers and names the orphans,
#      upgrade never starts green;
#   4. after the upgrade: live and rollback target marked, both refused by prune; an
#      orphan with a container refused; an orphan pruned frees its shards;
#   5. finalize unconfirmed changes nothing; confirmed, it removes blue's containers,
#      its indices (through the live api, Elasticsearch for the rest) and old images,
#      keeps everything else, records it, and rollback is refused after it.
# The stack's images are copied under their own registry prefix, so the image
# cleanup of finalize touches only this test's copies.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
tb_require_daemon

TRACUP=${TRACUP:-$TB_REPO_DIR/build/src/tracup}
[ -x "$TRACUP" ] || tb_die "no tracup binary at $TRACUP (build first)"

WORK=$(mktemp -d)
tb_cleanup_add "rm -rf '$WORK'"
export TRACUP_STATE_DIR=$WORK/state
mkdir -p "$TRACUP_STATE_DIR"
export TRACUP_ADMIN_EMAIL=admin@example.com
export TRACUP_ADMIN_PASSWORD="fin-Adm1n-$RANDOM$RANDOM-pw"
OUT=$WORK/out ERR=$WORK/err

P=${TB_E2E_PREFIX}fin
REG=$TB_REGISTRY/finpfx
tb_cleanup_add "tb_compose_down '$P'"
tb_cleanup_add "docker rm -f '$P-old080' '$P-keepgui' >/dev/null 2>&1"

jqe() { tb_jqe "$@"; }
tu() { local cmd=$1; shift; "$TRACUP" "$cmd" --registry "$REG" --stack "$P" "$@"; }
ES() { curl -s --max-time 10 "$@"; }
cat_json() { ES "$TB_ELASTIC_URL/_cat/indices?format=json&expand_wildcards=all"; }
count_re() { cat_json | jq --arg re "$1" '[.[] | select(.index | test($re))] | length'; }
docs_of() { ES "$TB_ELASTIC_URL/$1/_count" | jq -r '.count'; }
# Shards the limit counts, by Elasticsearch's own listing.
es_shards_open() { cat_json | jq '[.[] | select(.status == "open") | (.pri | tonumber) * (1 + (.rep | tonumber))] | add // 0'; }
make_index() {  # NAME DOCS
  local i
  [ "$(ES -o /dev/null -w '%{http_code}' -X PUT "$TB_ELASTIC_URL/$1" -H 'content-type: application/json' -d '{}')" = 200 ] ||
    return 1
  [ "$2" -gt 0 ] || return 0
  for ((i = 1; i <= $2; i++)); do printf '{"index":{"_index":"%s"}}\n{"n":%d}\n' "$1" "$i"; done |
    ES -X POST "$TB_ELASTIC_URL/_bulk?refresh=true" -H 'content-type: application/x-ndjson' --data-binary @- |
    jqe '.errors == false'
}
group() { jq -c --arg r "$1" '.groups[] | select(.release == $r)' "$2"; }
set_shard_limit() {  # N|null
  ES -X PUT "$TB_ELASTIC_URL/_cluster/settings" -H 'content-type: application/json' \
    -d "{\"persistent\":{\"cluster.max_shards_per_node\":$1}}" | jqe '.acknowledged == true'
}

# The release images under this test's prefix (pulled from the test bed's registry,
# re-tagged, pushed: the layers are already there).
copy_images() {
  local v img src dst
  for v in 0.8.0 0.8.1 0.8.2; do
    for img in tracardi-api tracardi-gui update-worker apm; do
      src=$TB_REGISTRY/tracardi/$img:$v dst=$REG/tracardi/$img:$v
      timeout 120 docker pull -q "$src" >/dev/null 2>&1 || continue  # not in that release
      docker tag "$src" "$dst" && timeout 120 docker push -q "$dst" >/dev/null || return 1
      tb_cleanup_add "docker rmi -f '$dst' >/dev/null 2>&1"
    done
  done
  # A newer release pulled ahead of the next upgrade.
  src=$TB_REGISTRY/tracardi/tracardi-api:0.9.0 dst=$REG/tracardi/tracardi-api:0.9.0
  timeout 120 docker pull -q "$src" >/dev/null 2>&1 && docker tag "$src" "$dst" || return 1
  tb_cleanup_add "docker rmi -f '$dst' >/dev/null 2>&1"
}

###########################################################################
echo "--- 1. indices by release"
tb_check "the release images are copied under $REG" copy_images
TB_REGISTRY=$REG tb_compose_up "$P" 0.8.1 2>"$WORK/up.log" || { cat "$WORK/up.log" >&2; tb_die "the stack did not come up"; }
tb_check "blue 0.8.1 is installed and seeded" tb_seed_blue "$P" 0.8.1 3
# Orphans of earlier manual upgrades, and an index of another application.
tb_check "0.7.4's indices are there (no container of 0.7.4)" \
  bash -c "$(declare -f make_index ES jqe tb_jqe); TB_ELASTIC_URL=$TB_ELASTIC_URL; make_index 074.75120.tracardi-event-2022-12 4 && make_index 074.75120.tracardi-profile 2"
tb_check "0.8.0's indices are there: staging, prod- and static-" \
  bash -c "$(declare -f make_index ES jqe tb_jqe); TB_ELASTIC_URL=$TB_ELASTIC_URL; make_index 080.fa73a.tracardi-event-2023-6 3 && make_index prod-080.fa73a.tracardi-profile 1 && make_index static-080.fa73a.tracardi-bridge 0"
tb_check "an index of another application is there" \
  bash -c "$(declare -f make_index ES jqe tb_jqe); TB_ELASTIC_URL=$TB_ELASTIC_URL; make_index crm-export 6"

tu indices --json >"$WORK/i1.json" 2>"$ERR"; rc=$?
tb_check "indices exits 0" [ $rc = 0 ]
[ $rc = 0 ] || cat "$ERR" >&2
tb_check "0.8.1 (08x.01506) is live, with its containers, not an orphan" \
  jqe '.groups[] | select(.release == "0.8.1") | .db_version == "08x" and .tenant == "01506" and (.uses | index("live")) != null and (.containers | length) >= 2 and .orphan == false' "$WORK/i1.json"
tb_check "0.8.1's group holds every 08x index (staging, prod- and static-)" \
  jqe --argjson n "$(count_re '^(prod-|static-)?08x\.01506\.')" '.groups[] | select(.release == "0.8.1") | .count == $n and $n > 30' "$WORK/i1.json"
tb_check "0.8.0 is an orphan of 3 indices (db_version 0.8.0, tenant fa73a)" \
  jqe '.groups[] | select(.release == "0.8.0") | .orphan == true and .count == 3 and .db_version == "0.8.0" and .tenant == "fa73a" and .docs == 4' "$WORK/i1.json"
tb_check "0.7.4 is an orphan of 2 indices" \
  jqe '.groups[] | select(.release == "0.7.4") | .orphan == true and .count == 2 and .tenant == "75120" and .docs == 6' "$WORK/i1.json"
tb_check "crm-export is in the group that is not Tracardi's, never an orphan" \
  jqe '.groups[] | select(.tracardi == false) | .orphan == false and ([.indices[].index] | index("crm-export")) != null' "$WORK/i1.json"
tb_check "groups are newest first: 0.8.1, 0.8.0, 0.7.4, then the others" \
  jqe '[.groups[].release] == ["0.8.1", "0.8.0", "0.7.4", "other"]' "$WORK/i1.json"
OPEN1=$(es_shards_open)
tb_check "the budget counts the shards Elasticsearch has open ($OPEN1) against 1000 x 1 node" \
  jqe --argjson o "$OPEN1" '.budget.shards_open == $o and .budget.shard_limit == 1000 and .budget.shards_free == 1000 - $o' "$WORK/i1.json"
tb_check "the budget says how many upgrades fit (free / per upgrade, 0.8.2 adds at least 104)" \
  jqe '.budget.per_upgrade >= 104 and .budget.upgrades_fit == ((.budget.shards_free / .budget.per_upgrade) | floor)' "$WORK/i1.json"
tb_check "the orphans' shards are counted" \
  jqe '.budget.orphan_shards == ([.groups[] | select(.orphan) | .shards] | add)' "$WORK/i1.json"
tu indices >"$OUT" 2>"$ERR"; rc=$?
tb_check "indices (for people) exits 0 and shows the table" bash -c "[ $rc = 0 ] && grep -q '^RELEASE' '$OUT'"
tb_check "…with live, orphan and not Tracardi's marked" \
  bash -c "grep -qE '^0\.8\.1 .* live' '$OUT' && grep -qE '^0\.7\.4 .* orphan' '$OUT' && grep -qE '^other .* not Tracardi' '$OUT'"
tb_check "…and the budget and what prune-indices can delete" \
  bash -c "grep -q 'upgrades\? fit before the limit' '$OUT' && grep -q 'prune-indices --release' '$OUT'"
tu indices --names >"$OUT" 2>"$ERR"
tb_check "indices --names lists every index" grep -q 'static-080.fa73a.tracardi-bridge' "$OUT"

###########################################################################
echo "--- 2. prune refusals"
BLUE_COUNT=$(count_re '^(prod-|static-)?08x\.01506\.')
BLUE_DOCS=$(tb_release_docs 08x 01506)
tu prune-indices --release 0.8.1 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "prune of the live release: exit 1, says it is live" bash -c "[ $rc = 1 ] && grep -q 'live release' '$ERR'"
tb_check "…and its indices are all there" [ "$(count_re '^(prod-|static-)?08x\.01506\.')" = "$BLUE_COUNT" ]
tu prune-indices --release 08x --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "prune by db_version (08x): refused the same" bash -c "[ $rc = 1 ] && grep -q 'live release' '$ERR'"
tu prune-indices --release 0.6.0 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "prune of a release with no indices: exit 1, names it" bash -c "[ $rc = 1 ] && grep -q \"no indices of release '0.6.0'\" '$ERR'"
tu prune-indices --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "prune without --release: usage (exit 2)" [ $rc = 2 ]
tu prune-indices --release 0.7.4 </dev/null >"$OUT" 2>"$ERR"; rc=$?
tb_check "prune without confirmation: exit 1, cancelled" bash -c "[ $rc = 1 ] && grep -q 'nothing was changed' '$ERR'"
tb_check "…it showed every index with its documents" grep -q '074.75120.tracardi-event-2022-12 .* 4 docs' "$OUT"
echo 0.7.3 | tu prune-indices --release 0.7.4 >"$OUT" 2>"$ERR"; rc=$?
tb_check "prune with the wrong release typed: exit 1, cancelled" [ $rc = 1 ]
tb_check "…0.7.4's indices are both still there" [ "$(count_re '^074\.75120\.')" = 2 ]
(unset TRACUP_ADMIN_PASSWORD; tu prune-indices --release 0.7.4 --yes >"$OUT" 2>"$ERR"); rc=$?
tb_check "prune without the admin's password: usage (exit 2)" [ $rc = 2 ]
tb_check "…0.7.4's indices are still there" [ "$(count_re '^074\.75120\.')" = 2 ]

###########################################################################
echo "--- 3. the shard budget refuses, naming the orphans"
tb_cleanup_add "curl -s --max-time 5 -X PUT '$TB_ELASTIC_URL/_cluster/settings' -H 'content-type: application/json' -d '{\"persistent\":{\"cluster.max_shards_per_node\":null}}' >/dev/null"
tb_check "cluster.max_shards_per_node set to $((OPEN1 + 20)) (20 free)" set_shard_limit $((OPEN1 + 20))
tu plan --to 0.8.2 --json >"$WORK/plan.json" 2>"$ERR"; rc=$?
tb_check "plan refuses (exit 1) with the numbers" \
  bash -c "[ $rc = 1 ] && jq -e '.ok == false and .elasticsearch.shards_free == 20 and .elasticsearch.shards_needed > 20' '$WORK/plan.json' >/dev/null"
tb_check "plan --json names the orphan releases" \
  jqe '[.elasticsearch.orphans[].release] | sort == ["0.7.4", "0.8.0"]' "$WORK/plan.json"
tu plan --to 0.8.2 >"$OUT" 2>"$ERR"
tb_check "the refusal says prune-indices could free them" \
  bash -c "grep -q 'orphan releases' '$OUT' && grep -q 'prune-indices --release 0.8.0' '$OUT' && grep -q '0.7.4 (074.75120' '$OUT'"
"$TRACUP" upgrade --registry "$REG" --stack "$P" --to 0.8.2 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "upgrade refuses (exit 1) on the shard budget" bash -c "[ $rc = 1 ] && grep -q 'shard budget' '$OUT' '$ERR'"
tb_check "…and never started green" [ -z "$(docker ps -aq --filter "label=tracup.stack=$P" --filter label=tracup.color=green)" ]
tb_check "…nor created a 0820 index" [ "$(count_re '^(prod-|static-)?0820\.')" = 0 ]
tb_check "the shard limit is back to its default" set_shard_limit null

###########################################################################
echo "--- 4. after the upgrade: live, rollback target, orphans"
"$TRACUP" upgrade --registry "$REG" --stack "$P" --to 0.8.2 --observe 2 --smoke-timeout 60 --yes >"$WORK/up.out" 2>"$WORK/up.err"; rc=$?
tb_check "upgrade 0.8.1 -> 0.8.2 exits 0" [ $rc = 0 ]
[ $rc = 0 ] || tail -n 20 "$WORK/up.out" "$WORK/up.err" >&2
GREEN_DOCS=$(tb_release_docs 0820 ffe49)
tu indices --json >"$WORK/i2.json" 2>"$ERR"
tb_check "0.8.2 is live, 0.8.1 the rollback target with its stopped containers" \
  jqe '(.groups[] | select(.release == "0.8.2") | (.uses | index("live")) != null)
       and (.groups[] | select(.release == "0.8.1") | (.uses | index("rollback")) != null and (.uses | index("live")) == null and (.containers | length) >= 2)' "$WORK/i2.json"
tb_check "0.8.0 and 0.7.4 are still orphans" \
  jqe '[.groups[] | select(.orphan) | .release] == ["0.8.0", "0.7.4"]' "$WORK/i2.json"
tu prune-indices --release 0.8.1 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "prune of the rollback target: exit 1, says rollback needs it" bash -c "[ $rc = 1 ] && grep -q 'rollback target' '$ERR'"
tu prune-indices --release 0.8.2 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "prune of the new live release: exit 1" bash -c "[ $rc = 1 ] && grep -q 'live release' '$ERR'"
tb_check "…both releases' indices are all there" \
  bash -c "[ $(count_re '^(prod-|static-)?08x\.01506\.') = $BLUE_COUNT ] && [ $GREEN_DOCS = $(tb_release_docs 0820 ffe49) ]"

# An orphan that a container (even a stopped one) still belongs to is not an orphan.
docker create --name "$P-old080" "$REG/tracardi/tracardi-api:0.8.0" >/dev/null 2>&1
tu prune-indices --release 0.8.0 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "prune of 0.8.0 while a 0.8.0 container exists: exit 1, names it" \
  bash -c "[ $rc = 1 ] && grep -q 'still has containers' '$ERR' && grep -q '$P-old080' '$ERR'"
tb_check "…0.8.0's indices are all there" [ "$(count_re '^(prod-|static-)?080\.fa73a\.')" = 3 ]
docker rm -f "$P-old080" >/dev/null
O080=$(jq '.groups[] | select(.release == "0.8.0") | .shards' "$WORK/i2.json")
tu prune-indices --release 0.8.0 --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "prune of the orphan 0.8.0 exits 0" [ $rc = 0 ]
[ $rc = 0 ] || cat "$OUT" "$ERR" >&2
tb_check "…its 3 indices are gone (staging, prod- and static-)" [ "$(count_re '^(prod-|static-)?080\.fa73a\.')" = 0 ]
tb_check "…it says how many shards it freed ($O080)" grep -q "$O080 shards freed" "$OUT"
tu indices --json >"$WORK/i3.json" 2>"$ERR"
tb_check "the budget shows the $O080 shards freed" \
  jqe --argjson a "$(jq .budget.shards_open "$WORK/i2.json")" --argjson f "$O080" '.budget.shards_open == $a - $f' "$WORK/i3.json"
tb_check "0.7.4, the others, 0.8.1 and 0.8.2 are untouched" \
  bash -c "[ $(count_re '^074\.75120\.') = 2 ] && [ $(docs_of crm-export) = 6 ] && [ $(count_re '^(prod-|static-)?08x\.01506\.') = $BLUE_COUNT ]"
H=$TRACUP_STATE_DIR/$P/history.jsonl
tb_check "the history records the prune: 3 indices, each with its documents, 4 in all" \
  bash -c "grep '\"prune-indices\"' '$H' | tail -n1 | jq -e '.release == \"0.8.0\" and (.deleted_indices | length) == 3 and .deleted_documents == 4 and all(.deleted_indices[]; .docs >= 0 and (.index | type) == \"string\")' >/dev/null"
tb_check "…the api deleted what it could, Elasticsearch the static- copy" \
  bash -c "grep '\"prune-indices\"' '$H' | tail -n1 | jq -e '[.deleted_indices[] | select(.via == \"elasticsearch\") | .index] == [\"static-080.fa73a.tracardi-bridge\"]' >/dev/null"

###########################################################################
echo "--- 5. finalize"
J=$TRACUP_STATE_DIR/$P/journal.json
BLUE_IDS=$(jq -r '.blue.release[]' "$J")
tb_check "blue's containers are on record ($(echo "$BLUE_IDS" | wc -l))" [ "$(echo "$BLUE_IDS" | wc -l)" -ge 4 ]
# A stopped container keeps the 0.8.0 gui image; nothing uses the 0.8.0 api image.
docker create --name "$P-keepgui" "$REG/tracardi/tracardi-gui:0.8.0" >/dev/null 2>&1
tu finalize --delete-old-indices </dev/null >"$OUT" 2>"$ERR"; rc=$?
tb_check "finalize without confirmation: exit 1, cancelled" bash -c "[ $rc = 1 ] && grep -q 'nothing was changed' '$ERR'"
tb_check "…it listed blue's indices with their documents and what it would remove" \
  bash -c "grep -q 'Indices deleted, Tracardi 0.8.1 (08x.01506)' '$OUT' && grep -q '08x.01506.tracardi-event-' '$OUT' && grep -q 'Containers removed' '$OUT'"
echo 0.8.2 | tu finalize --delete-old-indices >"$OUT" 2>"$ERR"; rc=$?
tb_check "finalize with the wrong version typed: exit 1" [ $rc = 1 ]
(unset TRACUP_ADMIN_PASSWORD; tu finalize --delete-old-indices --yes >"$OUT" 2>"$ERR"); rc=$?
tb_check "finalize --delete-old-indices without the admin's password: usage (exit 2)" [ $rc = 2 ]
still=0
for id in $BLUE_IDS; do docker inspect "$id" >/dev/null 2>&1 && still=$((still + 1)); done
tb_check "…blue's containers are all still there" [ "$still" = "$(echo "$BLUE_IDS" | wc -l)" ]
tb_check "…and its indices, and the journal still says done" \
  bash -c "[ $(count_re '^(prod-|static-)?08x\.01506\.') = $BLUE_COUNT ] && jq -e '.state == \"done\"' '$J' >/dev/null"

# Confirmed, then killed between removing the containers and deleting the indices.
echo 0.8.1 | TRACUP_TEST_KILL_AT=finalize-indices tu finalize --delete-old-indices >"$OUT" 2>"$ERR"; rc=$?
tb_check "finalize confirmed by typing 0.8.1, killed half-way (exit $rc)" [ $rc = 137 ]
tb_check "…the journal says finalizing" jqe '.state == "finalizing" and .finalize.delete_indices == true' "$J"
tu status >"$OUT" 2>"$ERR"
tb_check "…status says the finalize was cut short and how to complete it" grep -q "'tracup finalize' completes it" "$OUT"
tu rollback --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "…rollback is refused (exit 1): blue is being finalized" bash -c "[ $rc = 1 ] && grep -q 'being finalized' '$ERR'"
tb_check "…blue's indices are still there" [ "$(count_re '^(prod-|static-)?08x\.01506\.')" = "$BLUE_COUNT" ]
tu finalize --json </dev/null >"$WORK/fin.json" 2>"$ERR"; rc=$?
tb_check "finalize run again completes the confirmed plan without asking: exit 0" [ $rc = 0 ]
[ $rc = 0 ] || cat "$WORK/fin.json" "$ERR" >&2
gone=0
for id in $BLUE_IDS; do docker inspect "$id" >/dev/null 2>&1 || gone=$((gone + 1)); done
tb_check "blue's containers are gone, its Redis too ($gone)" [ "$gone" = "$(echo "$BLUE_IDS" | wc -l)" ]
tb_check "blue's indices are gone" [ "$(count_re '^(prod-|static-)?08x\.01506\.')" = 0 ]
tb_check "the result lists them all ($BLUE_COUNT) with their documents ($BLUE_DOCS)" \
  jqe --argjson n "$BLUE_COUNT" --argjson d "$BLUE_DOCS" '.ok == true and (.deleted_indices | length) == $n and ([.deleted_indices[].docs] | add) == $d' "$WORK/fin.json"
tb_check "most went through the live api, the static- copies through Elasticsearch" \
  jqe '([.deleted_indices[] | select(.via == "api")] | length) > 0 and all(.deleted_indices[] | select(.via == "elasticsearch"); .index | startswith("static-"))' "$WORK/fin.json"
tb_check "0.8.2's documents are unchanged ($GREEN_DOCS)" [ "$(tb_release_docs 0820 ffe49)" = "$GREEN_DOCS" ]
tb_check "the index that is not Tracardi's is untouched" [ "$(docs_of crm-export)" = 6 ]
tb_check "the orphan 0.7.4 is untouched (finalize deletes only blue's)" [ "$(count_re '^074\.75120\.')" = 2 ]
tb_check "the edge still serves 0.8.2" [ "$(curl -s --max-time 5 "$TB_API_URL/info/version" | jq -r .)" = 0.8.2 ]
tb_check "the 0.8.0 api image (no container) is removed" bash -c "! docker image inspect '$REG/tracardi/tracardi-api:0.8.0' >/dev/null 2>&1"
tb_check "the 0.8.0 gui image a stopped container uses is kept" bash -c "docker image inspect '$REG/tracardi/tracardi-gui:0.8.0' >/dev/null"
tb_check "the images of 2 releases are kept: the live 0.8.2 and 0.8.1 before it" \
  bash -c "docker image inspect '$REG/tracardi/tracardi-api:0.8.1' '$REG/tracardi/tracardi-api:0.8.2' >/dev/null"
tb_check "the image of 0.9.0, newer than the live release, is kept" \
  bash -c "docker image inspect '$REG/tracardi/tracardi-api:0.9.0' >/dev/null"
tb_check "the journal says finalized, old indices deleted" jqe '.state == "finalized" and .old_indices_deleted == true' "$J"
tb_check "the snapshot (blue's full configuration) is deleted" \
  bash -c "[ -z \"\$(find '$TRACUP_STATE_DIR/$P/upgrades' -name snapshot.tar)\" ]"
tb_check "the history records the finalize: every index with its documents" \
  bash -c "grep '\"finalize\"' '$H' | tail -n1 | jq -e --argjson n $BLUE_COUNT --argjson d $BLUE_DOCS '(.deleted_indices | length) == \$n and .deleted_documents == \$d and (.removed_containers | length) >= 4 and .from == \"0.8.1\" and .to == \"0.8.2\"' >/dev/null"
tu rollback --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "rollback after finalize: exit 1, says there is no way back" \
  bash -c "[ $rc = 1 ] && grep -q 'finalized' '$ERR' && grep -q 'no way back' '$ERR'"
tb_check "…and 0.8.2 still serves" [ "$(curl -s --max-time 5 "$TB_API_URL/info/version" | jq -r .)" = 0.8.2 ]
tu finalize --yes >"$OUT" 2>"$ERR"; rc=$?
tb_check "a second finalize: exit 1, already finalized" bash -c "[ $rc = 1 ] && grep -q 'already finalized' '$ERR'"
tu indices --json >"$WORK/i4.json" 2>"$ERR"
tb_check "indices: 0.8.2 live, 0.8.1 gone, 0.7.4 the only orphan" \
  jqe '[.groups[] | select(.tracardi) | .release] == ["0.8.2", "0.7.4"] and ([.groups[] | select(.orphan) | .release] == ["0.7.4"])' "$WORK/i4.json"
tu plan --to 0.9.0 --json >"$WORK/plan2.json" 2>"$ERR"
tb_check "after finalize a new plan no longer says an upgrade is under way" \
  jqe '[.refusals[] | select(test("under way|finalize or roll"))] | length == 0' "$WORK/plan2.json"

tb_summary
