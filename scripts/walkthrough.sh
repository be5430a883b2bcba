#!/usr/bin/env bash
# The README's five-minute walk-through as a script: it drives a running Turnpike with curl
# exactly as the contract says and stops at the first answer that is not what it should be.
#
#   TURNPIKE_ADMIN_PASSWORD=change-me-now ./bin/turnpike all-in-one &
#   ADMIN_PASSWORD=change-me-now scripts/walkthrough.sh
#
# CP (default http://localhost:9443) is the control plane, BACKEND an HTTP backend the
# imported API points at (default: the control plane itself, whose /healthz answers).
set -euo pipefail
CP=${CP:-http://localhost:9443}
BACKEND=${BACKEND:-$CP}
ADMIN_PASSWORD=${ADMIN_PASSWORD:?set ADMIN_PASSWORD to the first admin password}
HERE=$(cd "$(dirname "$0")" && pwd)
JARS=$(mktemp -d)
trap 'rm -rf "$JARS"' EXIT
SUFFIX=${SUFFIX:-$RANDOM$RANDOM}

# gql USER QUERY [VARIABLES]: a GraphQL call with USER's cookie jar; prints the answer.
gql() {
	local vars=${3:-"{}"}
	curl -sS -b "$JARS/$1" -c "$JARS/$1" -H 'Content-Type: application/json' "$CP/graphql" \
		-d "$(jq -cn --arg q "$2" --argjson v "$vars" '{query: $q, variables: $v}')"
}
# expect ANSWER JQ-FILTER WHAT: fails unless the filter is true of the answer.
expect() {
	if ! jq -e "$2" >/dev/null <<<"$1"; then
		echo "FAILED: $3" >&2
		echo "$1" >&2
		exit 1
	fi
	echo "ok: $3"
}

login() { gql "$1" 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { id roles } }' "{\"u\":\"$1\",\"p\":\"$2\"}"; }

r=$(login admin "$ADMIN_PASSWORD")
expect "$r" '.data.login.roles == ["ADMIN"]' "admin logs in"

PUB=pat$SUFFIX SUB=sam$SUFFIX
for u in "$PUB:PUBLISHER" "$SUB:SUBSCRIBER"; do
	r=$(gql admin 'mutation($in: CreateUserInput!) { createUser(input: $in) { id } }' \
		"{\"in\":{\"username\":\"${u%%:*}\",\"password\":\"${u%%:*}-password\",\"roles\":[\"${u##*:}\"]}}")
	expect "$r" '.data.createUser.id != null' "admin creates ${u%%:*} (${u##*:})"
done

login "$PUB" "$PUB-password" >/dev/null
DEF=$(jq -Rs . <"$HERE/../runtime/publisher/openapi/testdata/petstore.json")
r=$(gql "$PUB" 'mutation($d: String!, $e: String!, $c: String) { importOpenAPI(definition: $d, endpoint: $e, context: $c, version: "1.0.0") { id lifecycleState resources { method path } } }' \
	"{\"d\":$DEF,\"e\":\"$BACKEND\",\"c\":\"/petstore$SUFFIX\"}")
expect "$r" '.data.importOpenAPI.lifecycleState == "CREATED" and (.data.importOpenAPI.resources | length) == 3' "the publisher imports the Petstore"
API=$(jq -r .data.importOpenAPI.id <<<"$r")
IMPORTED=$r

life='mutation($id: ID!, $a: LifecycleAction!) { changeLifecycle(apiId: $id, action: $a) { lifecycleState allowedActions } }'
r=$(gql "$PUB" "$life" "{\"id\":\"$API\",\"a\":\"RETIRE\"}")
expect "$r" '.errors[0].extensions.code == "BAD_USER_INPUT" and (.errors[0].message | contains("PUBLISH"))' "RETIRE from CREATED is refused, naming the allowed actions"
r=$(gql "$PUB" "$life" "{\"id\":\"$API\",\"a\":\"PUBLISH\"}")
expect "$r" '.data.changeLifecycle.lifecycleState == "PUBLISHED"' "the publisher publishes"

login "$SUB" "$SUB-password" >/dev/null
r=$(gql "$SUB" '{ apis(first: 100) { totalCount edges { node { id lifecycleState gatewayURLs } } } }')
expect "$r" "[.data.apis.edges[].node.id] | index(\"$API\") != null" "the subscriber sees the published API"
expect "$r" '[.data.apis.edges[].node.lifecycleState] | all(. == "PUBLISHED" or . == "PROTOTYPED" or . == "DEPRECATED")' "and only what a subscriber may see"
GW=$(jq -r "[.data.apis.edges[].node | select(.id == \"$API\")][0].gatewayURLs[0]" <<<"$r")
r=$(gql "$SUB" '{ users { username } }')
expect "$r" '.errors[0].extensions.code == "FORBIDDEN"' "the subscriber may not list users"
r=$(gql "$SUB" 'mutation($id: ID!) { deleteAPI(id: $id) }' "{\"id\":\"$API\"}")
expect "$r" '.errors[0].extensions.code == "FORBIDDEN"' "nor delete the API"

r=$(gql "$SUB" 'mutation { createApplication(input: {name: "walkthrough"}) { id } }')
APP=$(jq -r .data.createApplication.id <<<"$r")
r=$(gql "$SUB" 'mutation($api: ID!, $app: ID!) { subscribe(apiId: $api, applicationId: $app, tier: "Unlimited") { status } }' "{\"api\":\"$API\",\"app\":\"$APP\"}")
expect "$r" '.data.subscribe.status == "ACTIVE"' "the subscriber subscribes an application"
r=$(gql "$SUB" 'mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }' "{\"app\":\"$APP\"}")
CK=$(jq -r .data.generateKeys.consumerKey <<<"$r")
CS=$(jq -r .data.generateKeys.consumerSecret <<<"$r")
TOKEN=$(curl -sS -u "$CK:$CS" -d grant_type=client_credentials "$CP/oauth2/token" | jq -r .access_token)
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] && echo "ok: the application gets an access token"

# Deployment reaches the gateway asynchronously: give it a moment.
for _ in $(seq 1 100); do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$GW/pets")
	[ "$code" != 404 ] && [ "$code" != 403 ] && break
	sleep 0.1
done
code=$(curl -s -o /dev/null -w '%{http_code}' "$GW/pets")
[ "$code" = 401 ] && echo "ok: without a token the gateway answers 401" || { echo "FAILED: no token gave $code"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$GW/pets")
case $code in 401|403|429|502|503|504) echo "FAILED: the call through the gateway gave $code"; exit 1 ;; esac
echo "ok: the call through the gateway reached the backend (HTTP $code)"

r=$(gql "$SUB" 'mutation($app: ID!) { generateAPIKey(applicationId: $app, keyType: PRODUCTION) { key } }' "{\"app\":\"$APP\"}")
APIKEY=$(jq -r .data.generateAPIKey.key <<<"$r")
code=$(curl -s -o /dev/null -w '%{http_code}' -H "apikey: $APIKEY" "$GW/pets")
case $code in 401|403|429|502|503|504) echo "FAILED: the call with an API key gave $code"; exit 1 ;; esac
echo "ok: an API key in the apikey header works too (HTTP $code)"

# The working copy changes nothing on the gateways until a revision of it is deployed.
RES=$(jq -c '[.data.importOpenAPI.resources[] | {method, path}] + [{method: "GET", path: "/get"}]' <<<"$IMPORTED")
r=$(gql "$PUB" 'mutation($id: ID!, $in: UpdateAPIInput!) { updateAPI(id: $id, input: $in) { resources { path } } }' "{\"id\":\"$API\",\"in\":{\"resources\":$RES}}")
expect "$r" '(.data.updateAPI.resources | length) == 4' "the publisher adds GET /get to the working copy"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$GW/get")
[ "$code" = 404 ] && echo "ok: the gateway does not serve it yet (404)" || { echo "FAILED: GET /get before deploying gave $code"; exit 1; }
r=$(gql "$PUB" 'mutation($id: ID!) { createRevision(apiId: $id, description: "adds /get") { id number } }' "{\"id\":\"$API\"}")
expect "$r" '.data.createRevision.number == 2' "the publisher creates revision 2"
REV=$(jq -r .data.createRevision.id <<<"$r")
r=$(gql "$PUB" 'mutation($id: ID!) { deployRevision(id: $id, environments: ["Default"], waitMs: 5000) { environment revision { number } expectedGateways acknowledgedGateways } }' "{\"id\":\"$REV\"}")
expect "$r" '.data.deployRevision[0].environment == "Default" and .data.deployRevision[0].revision.number == 2' "and deploys it to Default"
expect "$r" '.data.deployRevision[0].expectedGateways == 1 and .data.deployRevision[0].acknowledgedGateways == 1' "which the all-in-one gateway acknowledges within waitMs"
for _ in $(seq 1 100); do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$GW/get")
	[ "$code" = 200 ] && break
	sleep 0.1
done
[ "$code" = 200 ] && echo "ok: the gateway serves revision 2 (GET /get: 200)" || { echo "FAILED: GET /get after deploying gave $code"; exit 1; }

CLI=$(curl -sS -d grant_type=password -d client_id=turnpike-cli -d "username=$PUB" -d "password=$PUB-password" "$CP/oauth2/token" | jq -r .access_token)
r=$(curl -sS -H "Authorization: Bearer $CLI" -H 'Content-Type: application/json' -d '{"query":"{ me { username roles } }"}' "$CP/graphql")
expect "$r" ".data.me.username == \"$PUB\"" "a script authenticates with a turnpike-cli bearer token"
echo "walk-through complete"
