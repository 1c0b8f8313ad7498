package sqlite

// The statements of the hot paths (about ten writes per message), prepared
// once at Open on the pool that runs them; the rest are prepared per call.

const qPing = `INSERT INTO health (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`

func hotWrites() []string {
	return []string{
		qInsertInbound, qInboundByKey, qInboundState, qRegisterState, qThreadRenormalised, qSetAckDone, qSetRouteDone, qRegistered, qAdvance,
		qSaveNormalised, qSaveClassification, qCaseByID, qInsertCase, qOrderByID, qInsertOrder, qThreadInbound, qInsertEvent,
		qOutboundByKey, qOutboundByID, qInsertOutbound, qUpdateOutbound, qThreadOutbound,
		qWorkByID, qWorkByInbound, qWorkLiveCase, qWorkLiveOrder, qInsertWork, qClaimNext, qLease,
		qPing,
	}
}

func hotReads() []string {
	return []string{
		qInboundByID, qInboundByKey, qNormalised, qClassification, qCaseByID, qOrderByID,
		qOutboundByMID, qCountToRecipient, qCountForCase, qCountForOrder, qWorkByID, qUnfinished,
	}
}
