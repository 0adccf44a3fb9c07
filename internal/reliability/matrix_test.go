package reliability_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// access is who may call an operation, as its contract's security and role say.
type access int

const (
	// open operations have `security: []` (or an empty alternative): anyone, credentials or not.
	open access = iota
	// signedIn operations need a signed-in caller, by a session (JWT or cookie) or an API key;
	// any role, muted included (muting stops gateway calls only).
	signedIn
	// sessionOnly operations change how a user signs in: a session, never an API key (403).
	sessionOnly
	// adminOnly operations need the administrator role (admin.yaml): 403 for everyone else,
	// whatever they send.
	adminOnly
	// gateway operations call upstreams: an API key or a session; muted and disabled users 403.
	gateway
	// outbound operations are hooks.yaml's: Poolgate calls them on third parties and never serves them.
	outbound
)

func (a access) String() string {
	return [...]string{"open", "signedIn", "sessionOnly", "adminOnly", "gateway", "outbound"}[a]
}

// row is an operation's line in the matrix.
type row struct {
	access access
	// owned: the operation names a resource of the caller (path or body); every other signed-in
	// caller gets 404 for it, and its owner's first call succeeds.
	owned bool
	// params and body replace the spec's examples (path and query parameters by name; a JSON body).
	params func(w *world) map[string]string
	body   func(w *world) any
	// selfRefusing: the operation answers 401/403 by its own rule to the example request whoever
	// calls (a sign-in with the example's credentials, a login token that is not one).
	selfRefusing bool
	// unavailable: the operation answers 503 in the test configuration (a service it needs, such
	// as e-mail, is not configured), which it documents.
	unavailable bool
	// isolated operations get a world of their own: they end the callers' sessions, change
	// users or settings, or remove what later operations use.
	isolated bool
}

func idParam(name string, f func(w *world) int64) func(w *world) map[string]string {
	return func(w *world) map[string]string { return map[string]string{name: fmt.Sprint(f(w))} }
}

// matrix has one row per operation of the six contracts; an operation without one fails
// TestAuthorizationMatrix.
var matrix = map[string]row{
	// public.yaml
	"healthGet":              {access: open},
	"setupStatusGet":         {access: open},
	"setupCreate":            {access: open},
	"settingsPublicGet":      {access: open},
	"announcementPublicList": {access: open},
	"loginTokenGet":          {access: open, selfRefusing: true},
	"carPageList":            {access: open},
	"carStatusGet":           {access: open},
	"carBadgeGet":            {access: open},
	"statusPageGet":          {access: open},
	// Payment callbacks: the matrix's world has no gateway enabled, so notifies and the
	// openpayment checkout answer their documented 503 (internal/api/public/payment_test.go
	// covers them enabled).
	"yipayNotifyGet":        {access: open, unavailable: true},
	"yipayNotifyPost":       {access: open, unavailable: true},
	"yipayReturnGet":        {access: open},
	"openpaymentNotifyGet":  {access: open, unavailable: true},
	"openpaymentNotifyPost": {access: open, unavailable: true},
	"openpaymentReturnGet":  {access: open},
	"openpaymentSubmitGet":  {access: open, unavailable: true},
	"pricingGet":            {access: open}, // 404 while pricing_endpoint_enabled is off
	"modelPublicList":       {access: open},
	// auth.yaml
	"passwordRegister":    {access: open},
	"passwordLogin":       {access: open, selfRefusing: true},
	"emailCodeSend":       {access: open, unavailable: true},
	"passwordReset":       {access: open},
	"passkeyLoginOptions": {access: open},
	"passkeyLogin":        {access: open, selfRefusing: true},
	"ssoLogin":            {access: open},
	"ssoCallback":         {access: open, selfRefusing: true},
	"sessionLogout":       {access: signedIn, isolated: true},
	// user.yaml
	"meGet":                  {access: signedIn},
	"usageLogUserList":       {access: signedIn},
	"usageStatsUserGet":      {access: signedIn},
	"announcementUserList":   {access: signedIn},
	"apiKeyList":             {access: signedIn},
	"apiKeyCreate":           {access: signedIn},
	"apiKeyUpdate":           {access: signedIn, owned: true, params: idParam("id", func(w *world) int64 { return w.spareKey })},
	"apiKeyDelete":           {access: signedIn, owned: true, params: idParam("id", func(w *world) int64 { return w.spareKey })},
	"apiKeyRotate":           {access: signedIn, owned: true, body: func(w *world) any { return map[string]any{"id": w.spareKey} }},
	"accountKeyBind":         {access: signedIn, owned: true, params: idParam("account_id", func(w *world) int64 { return w.account }), body: func(w *world) any { return map[string]any{"api_key_id": w.spareKey} }},
	"passwordMethodGet":      {access: signedIn},
	"passwordCodeSend":       {access: sessionOnly},
	"passwordChange":         {access: sessionOnly, isolated: true},
	"sessionList":            {access: signedIn},
	"sessionDelete":          {access: signedIn, owned: true, params: func(w *world) map[string]string { return map[string]string{"id": w.spareSession} }},
	"passkeyList":            {access: signedIn},
	"passkeyRegisterOptions": {access: sessionOnly},
	"passkeyRegisterFinish":  {access: sessionOnly},
	"passkeyDelete":          {access: sessionOnly},
	"totpSetup":              {access: sessionOnly},
	"totpEnable":             {access: sessionOnly},
	"totpDisable":            {access: sessionOnly},
	"identityBindUrlCreate":  {access: sessionOnly},
	"preferencesGet":         {access: signedIn},
	"preferencesUpdate":      {access: signedIn},
	"contributedAccountList": {access: signedIn},
	"limitUserList":          {access: signedIn},
	"quotaUserList":          {access: signedIn},
	"checkInStatusGet":       {access: signedIn},
	"checkInRecordList":      {access: signedIn},
	"checkInCreate":          {access: signedIn, selfRefusing: true}, // 403 check_in_disabled until the site turns check-in on
	"redeemCreate":           {access: signedIn},
	"paymentConfigGet":       {access: signedIn},
	"paymentOrderUserList":   {access: signedIn},
	"paymentOrderCreate":     {access: signedIn}, // 422 payment_method_disabled: no gateway is enabled in the world
	"paymentOrderUserGet":    {access: signedIn}, // the example order is nobody's: 404 for every signed-in caller
	"referralGet":            {access: signedIn},
	"catalogUserGet":         {access: signedIn},
	"planUserList":           {access: signedIn},
	"subscriptionUserGet":    {access: signedIn},
	// Contributed accounts: the example names no account of the world's users (404 for every
	// signed-in caller; the owner's answers are in internal/api/user's tests).
	"contributedAccountCreate": {access: signedIn},
	"contributedAccountUpdate": {access: signedIn},
	"contributedAccountDelete": {access: signedIn},
	// OAuth onboarding: no provider is offered in the world (422 provider_not_offered) and the
	// example state is nobody's (400 invalid_state).
	"contributedAccountOAuthAuthorize": {access: signedIn},
	"contributedAccountOAuthCallback":  {access: signedIn},
	"contributedAccountOAuthExchange":  {access: signedIn},
	// gateway.yaml
	"modelsList":                {access: gateway},
	"chatCompletionCreate":      {access: gateway},
	"completionCreate":          {access: gateway},
	"responseCreate":            {access: gateway},
	"embeddingCreate":           {access: gateway},
	"imageCreate":               {access: gateway},
	"messageCreate":             {access: gateway},
	"messageTokenCount":         {access: gateway},
	"geminiModelList":           {access: gateway},
	"geminiModelAction":         {access: gateway},
	"geminiModelActionV1":       {access: gateway},
	"modelRetrieve":             {access: gateway},
	"geminiModelRetrieve":       {access: gateway},
	"shareInit":                 {access: open},
	"shareChatCompletionCreate": {access: open},
	// hooks.yaml (served by third parties)
	"loginCheck":             {access: outbound},
	"auditCheck":             {access: outbound},
	"notifySend":             {access: outbound},
	"shareAuthInit":          {access: outbound},
	"shareAuthStart":         {access: outbound},
	"shareAuthFinish":        {access: outbound},
	"remoteSourcePayloadGet": {access: outbound},
	"accountEventSend":       {access: outbound},
}

// adminOperations are admin.yaml's: all administrator-only, with the spec's examples.
func init() {
	for _, id := range strings.Fields(`settingsGet settingsUpdate announcementList announcementCreate
		announcementUpdate announcementDelete channelList channelCreate channelGet channelUpdate channelDelete
		accountList accountCreate accountUpdate accountDelete channelModelList channelModelCreate
		channelModelUpdate channelModelDelete modelList modelCreate modelUpdate modelDelete userList userCreate
		userGet userUpdate userDelete oidcProviderList oidcProviderCreate oidcProviderGet oidcProviderUpdate
		oidcProviderDelete logList logExport statsGet remoteSourceList remoteSourceCreate remoteSourceUpdate
		remoteSourceDelete remoteSourceSync remoteSourceSyncStatus remoteSourceJobList remoteAccountInject
		shareLinkList shareLinkCreate shareLinkGet shareLinkUpdate shareLinkDelete hookDeliveryList
		hookDeliveryRetry accountImport accountReset channelSync modelSync modelSyncPreview modelSyncPreviewBrowser modelSyncApply
		modelPriceSyncPreview modelPriceSyncPreviewBrowser modelPriceSyncApply channelUsageList userChannelList userChannelCreate
		userChannelUpdate userChannelDelete statusMonitorList statusMonitorCreate statusMonitorGet
		statusMonitorUpdate statusMonitorDelete statusMonitorCheck groupList groupCreate groupUpdate groupDelete
		limitList limitCreate limitUpdate limitDelete redemptionCodeList redemptionCodeCreate redemptionCodeExport
		redemptionCodeUpdate redemptionCodeDelete accountTest paymentOrderList paymentNotifyList referralCommissionList
		channelGroupMultiplierList channelGroupMultiplierSet
		channelModelGroupMultiplierList channelModelGroupMultiplierSet userChannelMultiplierList userChannelMultiplierSet
		planList planCreate planUpdate planDelete subscriptionGrant accountOAuthAuthorize accountOAuthExchange
		userSessionList userSessionDelete userSessionDeleteAll`) {
		matrix[id] = row{access: adminOnly}
	}
	for _, id := range []string{"settingsUpdate", "userUpdate", "userDelete", "userSessionDeleteAll"} {
		matrix[id] = row{access: adminOnly, isolated: true}
	}
}

// seed001.yaml's rows (docs/seed001.md): seed 001's clients sign in at /api/auth/login and then
// send the JWT (or an sk- key, or Poolgate's session cookie) as any Poolgate client does, so its
// operations take the same personas as Poolgate's own: sign-in and health are open, the account
// and key operations need a signed-in caller (a key is owned: 404 for others), and models and chat
// are the gateway's (403 for a muted user).
func init() {
	for id, r := range map[string]row{
		"seedSessionCreate":        {access: open, selfRefusing: true}, // the example's credentials are nobody's: 401
		"seedSsoInitiate":          {access: open},                     // no sign-in provider in the world: 404
		"seedSsoCallback":          {access: open, selfRefusing: true}, // the example state is nobody's
		"seedHealthGet":            {access: open},
		"seedSessionDelete":        {access: signedIn, isolated: true},
		"seedMeGet":                {access: signedIn},
		"seedApiKeyList":           {access: signedIn},
		"seedApiKeyCreate":         {access: signedIn},
		"seedApiKeyDelete":         {access: signedIn, owned: true, params: idParam("key_id", func(w *world) int64 { return w.spareKey })},
		"seedAccountList":          {access: signedIn},
		"seedOauthAuthorize":       {access: signedIn}, // no OAuth provider offered in the world: 422
		"seedQuotaList":            {access: signedIn},
		"seedModelList":            {access: gateway},
		"seedChatCompletionCreate": {access: gateway},
	} {
		matrix[id] = r
	}
}

// persona is a caller of the matrix.
type persona struct {
	name string
	cred func(w *world) func(*http.Request)
	// owner: the persona is the user who owns the world's resources.
	owner bool
}

// personas in calling order: the refused first, then the admitted, the administrator last (an
// administrator's example call may remove or change the example user).
var personas = []persona{
	{name: "anonymous", cred: func(*world) func(*http.Request) { return nil }},
	{name: "disabled JWT", cred: func(w *world) func(*http.Request) { return bearer(w.disabledJWT) }},
	{name: "disabled sk-", cred: func(w *world) func(*http.Request) { return bearer(w.disabled.Key) }},
	{name: "muted", cred: func(w *world) func(*http.Request) { return bearer(w.muted.Token) }},
	{name: "other user", cred: func(w *world) func(*http.Request) { return bearer(w.other.Token) }},
	{name: "sk- key", owner: true, cred: func(w *world) func(*http.Request) { return bearer(w.user.Key) }},
	{name: "cookie session", owner: true, cred: func(w *world) func(*http.Request) { return sessionCookie(w.cookie) }},
	{name: "session JWT", owner: true, cred: func(w *world) func(*http.Request) { return bearer(w.user.Token) }},
	{name: "admin", cred: func(w *world) func(*http.Request) { return bearer(w.env.AdminToken) }},
}

// verdict is what a persona must get: a status, or (0) admission: anything but 401, 403 and 5xx.
type verdict int

const admitted verdict = 0

func (v verdict) String() string {
	if v == admitted {
		return "admitted"
	}
	return fmt.Sprint(int(v))
}

// expect is what the row says p gets.
func (r row) expect(p persona) verdict {
	switch r.access {
	case open:
		return admitted
	case outbound:
		return http.StatusNotFound
	}
	switch p.name {
	case "anonymous", "disabled JWT": // a disabled user's sessions end with the disabling
		return http.StatusUnauthorized
	case "disabled sk-":
		return http.StatusForbidden
	}
	switch r.access {
	case adminOnly:
		if p.name != "admin" {
			return http.StatusForbidden
		}
	case gateway:
		if p.name == "muted" {
			return http.StatusForbidden
		}
	case sessionOnly:
		if p.name == "sk- key" {
			return http.StatusForbidden
		}
	}
	if r.owned && !p.owner {
		return http.StatusNotFound
	}
	return admitted
}

// TestAuthorizationMatrix calls every operation of the six contracts as each persona and checks
// the answer against the operation's row: 401 without (or with ended) credentials, 403 for a
// disabled user, for a non-administrator on admin routes (whatever the body), for a muted user on
// the gateway and for an API key where a session is needed, 404 for another user's resource, and
// admission otherwise. Every answer matches its contract (the client validates it). The rows
// themselves are checked against the specs: open rows are exactly the operations without
// security, admin rows exactly admin.yaml's, outbound rows exactly hooks.yaml's.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	ops := operations(t)
	seen := map[string]bool{}
	var missing []string
	for _, o := range ops {
		seen[o.ID] = true
		r, ok := matrix[o.ID]
		if !ok {
			missing = append(missing, fmt.Sprintf("%s %s %s (%s)", o.Contract, o.Method, o.Path, o.ID))
			continue
		}
		switch {
		case o.Contract == "hooks":
			require.Equal(t, outbound, r.access, "%s is hooks.yaml's", o.ID)
		case o.Contract == "admin":
			require.Equal(t, adminOnly, r.access, "%s is admin.yaml's", o.ID)
		case o.Public():
			require.Equal(t, open, r.access, "%s has no security", o.ID)
		default:
			require.NotContains(t, []access{open, adminOnly, outbound}, r.access, "%s needs credentials and is not admin.yaml's", o.ID)
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "operations without a row in the authorization matrix (internal/reliability/matrix_test.go)")
	for id := range matrix {
		require.True(t, seen[id], "the matrix has a row for %s, which no contract has", id)
	}

	models := gatewayModels(ops)
	groups := map[string][]operation{}
	for _, o := range ops {
		r := matrix[o.ID]
		g := o.Contract // operations that leave the callers as they were share their contract's world
		if r.isolated || r.owned {
			g = o.Contract + "/" + o.ID
		}
		groups[g] = append(groups[g], o)
	}
	for name, group := range groups {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, models)
			for _, o := range group {
				t.Run(o.ID, func(t *testing.T) { checkRow(t, w, o, matrix[o.ID]) })
			}
		})
	}
}

// checkRow calls o as every persona and checks each answer against r.
func checkRow(t *testing.T, w *world, o operation, r row) {
	var params map[string]string
	var body any
	if r.params != nil {
		params = r.params(w)
	}
	if r.body != nil {
		body = r.body(w)
	}
	c, err := o.exampleCall(params, body)
	require.NoError(t, err)
	ownerDone := false
	for _, p := range personas {
		status, b := send(t, w.env.RawHTTP, w.env.URL, c, p.cred(w))
		want := r.expect(p)
		msg := fmt.Sprintf("%s %s as %s: want %s, got %d: %.300s", c.Method, c.Path, p.name, want, status, b)
		if !r.unavailable || status != http.StatusServiceUnavailable {
			require.Less(t, status, 500, msg)
		}
		switch {
		case want != admitted:
			require.Equal(t, int(want), status, msg)
		case r.selfRefusing:
		default:
			require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, status, msg)
		}
		if r.owned && p.owner && want == admitted && !ownerDone {
			require.Less(t, status, 300, "the owner's first call succeeds: "+msg)
			ownerDone = true
		}
	}
}

// gatewayModels are the models the gateway contract's examples call.
func gatewayModels(ops []operation) []string {
	set := map[string]bool{}
	for _, o := range ops {
		if o.Contract != "gateway" && o.Contract != "seed001" {
			continue
		}
		if ex, ok := o.bodyExample(); ok {
			if m, ok := ex.(map[string]any)["model"].(string); ok {
				set[m] = true
			}
		}
		for _, p := range o.parameters() {
			if p.Value.Name == "modelAction" {
				if ex, ok := paramExample(p.Value); ok {
					m, _, _ := strings.Cut(fmt.Sprint(ex), ":")
					set[m] = true
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for m := range set {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}
