-- The SQL of one booking, with an Idempotency-Key, captured from the app (hot mode), one new guest
-- per transaction (guest n, announcement a), as bench/capture.py builds it.
\set k :k + 1
\set n 1 + :client_id + (:k - 1) * :clients
\set a :first + (:n - 1) / :per
\set bid :run * 10000000 + :n
BEGIN;
SELECT user_account.created_at, user_account.updated_at, user_account.id, user_account.email, user_account.name, user_account.bio, user_account.password_hash, user_account.role, user_account.is_active, user_account.is_confirmed, user_account.email_notifications, user_account.locale, user_account.tokens_valid_after, user_account.followers_count, user_account.following_count, user_account.friends_count, user_account.hosted_count, user_account.host_rating_sum, user_account.host_rating_count, user_account.guest_rating_sum, user_account.guest_rating_count 
FROM user_account JOIN auth_session ON auth_session.user_id = user_account.id 
WHERE auth_session.id = (('00000000-0002-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid)::UUID AND user_account.id = (('00000000-0001-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid)::UUID AND auth_session.revoked_at IS NULL AND auth_session.expires_at > (to_timestamp(1796298660.199148))::TIMESTAMP WITH TIME ZONE AND user_account.is_active IS true AND (user_account.tokens_valid_after IS NULL OR user_account.tokens_valid_after <= (to_timestamp(1796298621.000000))::TIMESTAMP WITH TIME ZONE);
SELECT a.id, a.author_id, a.sub_only, (a.cancelled_at IS NOT NULL OR a.event_time <= (to_timestamp(1796298660.202396))) AS closed,
           h.name AS host_name, h.host_rating_sum, h.host_rating_count,
           EXISTS (
               SELECT 1 FROM follow f
               WHERE f.follower_id = (('00000000-0001-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid) AND f.followee_id = a.author_id
           ) AS follows_host,
           
           
           pg_advisory_xact_lock(hashtextextended('booking-guest:' || CAST((('00000000-0001-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid) AS text), 0))
               IS NULL AS guest_locked
    FROM announcement a JOIN user_account h ON h.id = a.author_id
    WHERE a.id = (('00000000-0005-4000-8000-' || lpad(CAST(:a AS text), 12, '0'))::uuid);
WITH a AS (
        SELECT id, tickets_count, approved_seats, waitlist_count, approval, cancelled_at,
               event_time, ends_at, title, movie_title, location
        FROM announcement WHERE id = (('00000000-0005-4000-8000-' || lpad(CAST(:a AS text), 12, '0'))::uuid)
        FOR UPDATE
    ), verdict AS (
        
        SELECT a.*, CASE
            WHEN (a.cancelled_at IS NOT NULL OR a.event_time <= (to_timestamp(1796298660.203642))) THEN 'announcement_closed'
            WHEN EXISTS (
                SELECT 1 FROM booking b
                WHERE b.announcement_id = a.id AND b.guest_id = (('00000000-0001-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid)
                  AND b.status IN ('pending', 'approved', 'waitlisted')
            ) THEN 'already_booked'
            WHEN EXISTS (
                SELECT 1 FROM booking b
                WHERE b.guest_id = (('00000000-0001-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid) AND b.status IN ('pending', 'approved', 'waitlisted')
                  AND b.announcement_id <> a.id
                  AND b.event_time < a.ends_at AND b.ends_at > a.event_time
            ) THEN 'time_conflict'
            
            
            WHEN a.approved_seats + ('1') <= a.tickets_count AND (
                a.approval = 'auto' OR a.waitlist_count = 0
                OR a.approved_seats + ('1') + (
                    SELECT coalesce(sum(b.seats), 0) FROM booking b
                    WHERE b.announcement_id = a.id AND b.status = 'pending'
                ) <= a.tickets_count
            ) THEN
                CASE WHEN a.approval = 'auto' THEN 'approved' ELSE 'pending' END
            WHEN ('f') THEN 'waitlisted'
            ELSE 'no_seats'
        END AS outcome
        FROM a
    ), counters AS (
        UPDATE announcement SET
            approved_seats = announcement.approved_seats
                + CASE WHEN v.outcome = 'approved' THEN ('1') ELSE 0 END,
            waitlist_count = announcement.waitlist_count
                + CASE WHEN v.outcome = 'waitlisted' THEN 1 ELSE 0 END
        FROM verdict v
        WHERE announcement.id = v.id AND v.outcome IN ('approved', 'waitlisted')
    ), new_booking AS (
        INSERT INTO booking (id, created_at, updated_at, announcement_id, guest_id, seats, status,
                             message, event_time, ends_at, approved_at, short_code)
        SELECT (('00000000-0006-4000-8000-' || lpad(CAST(:bid AS text), 12, '0'))::uuid), (to_timestamp(1796298660.203642)), (to_timestamp(1796298660.203642)), v.id, (('00000000-0001-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid), ('1'), CAST(v.outcome AS booking_status),
               (NULL), v.event_time, v.ends_at,
               CASE WHEN v.outcome = 'approved' THEN CAST((to_timestamp(1796298660.203642)) AS timestamptz) END, ('p' || CAST(:bid AS text))
        FROM verdict v WHERE v.outcome IN ('approved', 'pending', 'waitlisted')
        RETURNING id, status
    ), event AS (
        INSERT INTO domain_event (id, kind, announcement_id, booking_id, actor_id, payload,
                                  created_at, attempts)
        SELECT (('00000000-0007-4000-8000-' || lpad(CAST(:bid * 10 + 0 AS text), 12, '0'))::uuid),
               CASE WHEN nb.status = 'approved' THEN 'booking_approved'
                    ELSE 'booking_requested' END,
               (('00000000-0005-4000-8000-' || lpad(CAST(:a AS text), 12, '0'))::uuid), nb.id, (('00000000-0001-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid),
               jsonb_build_object('status', CAST(nb.status AS text)), (to_timestamp(1796298660.203642)), 0
        FROM new_booking nb
    )
    SELECT v.outcome, v.tickets_count - v.approved_seats AS tickets_left,
           v.title, v.movie_title, v.event_time, v.location
    FROM verdict v;
INSERT INTO idempotency_record (user_id, route, key, request_hash, status_code, response_body, created_at, completed_at) VALUES ((('00000000-0001-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid)::UUID, ('POST /announcements/{announcement_id}/bookings')::VARCHAR, ('k' || CAST(:run AS text) || '-' || CAST(:n AS text))::VARCHAR, ('fe152cf471042d0449e34e70a5dcae3a6f6348698be75280cef749a848ff61a0')::VARCHAR, ('201')::INTEGER, ((('{"id": "' || CAST(('00000000-0006-4000-8000-' || lpad(CAST(:bid AS text), 12, '0'))::uuid AS text) || '", "host": {"id": "00000000-0003-4000-8000-000000000001", "name": "Host 1", "host_rating": {"count": 0, "average": null}}, "guest": {"id": "') || CAST(('00000000-0001-4000-8000-' || lpad(CAST(:n AS text), 12, '0'))::uuid AS text) || ('", "name": "Guest 1", "guest_rating": {"count": 0, "average": null}}, "seats": 1, "reason": null, "status": "approved", "created": "2026-12-03T11' || chr(58) || '51' || chr(58) || '00.203642Z", "message": null, "modified": "2026-12-03T11' || chr(58) || '51' || chr(58) || '00.203642Z", "announcement": {"id": "' || CAST(('00000000-0005-4000-8000-' || lpad(CAST(:a AS text), 12, '0'))::uuid AS text) || '", "title": "Bench screening 52", "location": "Bench hall", "event_time": "2026-12-08T11' || chr(58) || '50' || chr(58) || '35.653750Z", "movie_title": "Stalker"}}')))::JSONB, (to_timestamp(1796298660.205625))::TIMESTAMP WITH TIME ZONE, (to_timestamp(1796298660.205625))::TIMESTAMP WITH TIME ZONE) ON CONFLICT (user_id, route, key) DO UPDATE SET request_hash = excluded.request_hash, status_code = excluded.status_code, response_body = excluded.response_body, created_at = excluded.created_at, completed_at = excluded.completed_at WHERE idempotency_record.created_at < (to_timestamp(1796212260.205625))::TIMESTAMP WITH TIME ZONE RETURNING idempotency_record.key;
COMMIT;
