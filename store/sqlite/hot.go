package sqlite

// The statements of the hot paths, prepared when the database opens (so a
// bad one fails Open) on the raw connections that run them (raw.go); any
// other is prepared on first use and kept.

const qPing = `INSERT INTO health (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`

func hotWrites() []string {
	return []string{
		qInsertInbound, qInboundByKey, qReserveCase, qReserveOrder, qNormalisedEarly, qTouch, qAnalysedEarly, qAnalysed, qSaveNormalised, qThreadRenormalised,
		qClassified, qSetAutomated, qSetAckDone, qSetRouteDone, qRegistered, qInboundState,
		qNewCase, qNewOrder, qRegisterState, qCaseByID, qOrderByID, qThreadInbound, qInsertEvent,
		qCaseStatus, qOrderStatus, qSetCaseStatus, qTouchCase, qTouchOrder, qThreadRefOf,
		qNewOutbound, qOutboundByKey, qOutboundByID, qUpdateOutbound, qThreadOutbound,
		qNewWork, qWorkByInbound, qWorkLiveCase, qWorkLiveOrder, qClaimNext, qLease,
		qPutBlob,
		qPing,
	}
}

func hotReads() []string {
	return []string{
		qInboundByID, qNormalised, qClassification, qCaseByID, qOrderByID,
		qOutboundByMID, qCountSent, qAddressFailing, qWorkByID,
		findThreadQuery(1), findThreadQuery(2), qGetBlob,
	}
}
