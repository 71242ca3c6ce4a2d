//! Xids: wrap-around.

use super::*;

#[test]
fn xids_wrap_from_max_to_one() {
    let mut h = H::new(1, cfg(10_000));
    h.establish(10_000);
    h.s.set_next_xid_for_test(i32::MAX - 1);
    let ids: Vec<u32> = ["/a", "/b", "/c"]
        .iter()
        .map(|p| h.submit(get_data(p, false), None))
        .collect();
    let xids: Vec<i32> = h.sent().iter().map(|s| s.xid).collect();
    assert_eq!(xids, vec![i32::MAX - 1, i32::MAX, 1]);
    for x in xids {
        h.reply_ok(
            x,
            1,
            Response::GetData {
                data: Bytes::new(),
                stat: stat(1),
            },
        );
    }
    let got: Vec<u32> = h
        .results()
        .into_iter()
        .filter(|r| r.1.is_ok())
        .map(|r| r.0)
        .collect();
    assert_eq!(got, ids);
    assert!(!h.actions().contains(&Action::Disconnect));
    h.submit(delete("/d"), None);
    assert_eq!(h.sent()[0].xid, 2);
}
