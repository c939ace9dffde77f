//! DRF's `PageNumberPagination`, as its listings answer: `?page=N` (1-based) and `?page_size=N`
//! (at most `MAX_PAGE_SIZE`), the body `{"count", "next", "previous", "results"}` with absolute
//! links, and 404 `{"detail": "Invalid page."}` for a page that is not a positive integer or lies
//! past the last one.

use serde_json::{json, Value};

use crate::domain::urlencoded::pairs;

/// A `page` that is not a page of the listing (the error module answers it as DRF's 404
/// `{"detail": "Invalid page."}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidPage;

/// Items per page unless `page_size` asks for another number.
pub const PAGE_SIZE: i64 = 20;
/// The largest offset a page may start at: the largest integer a JS number (what D1 binds) holds
/// exactly. No listing has that many rows, so a page starting beyond it lies past the last one.
pub const MAX_OFFSET: i64 = (1 << 53) - 1;

/// The most `page_size` may ask for; more is cut to this (DRF's `max_page_size`).
pub const MAX_PAGE_SIZE: i64 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// 1-based.
    pub number: i64,
    pub size: i64,
}

impl Page {
    /// The page a query string (without `?`) asks for. DRF reads `page` strictly (anything but a
    /// positive integer is an invalid page) and `page_size` leniently (anything but a positive
    /// integer is the default, more than the maximum is the maximum).
    pub fn from_query(query: &str) -> Result<Page, InvalidPage> {
        let number = match query_param(query, "page") {
            None => 1,
            Some(text) => python_int(&text).filter(|n| *n >= 1).ok_or(InvalidPage)?,
        };
        let size = query_param(query, "page_size")
            .and_then(|text| python_int(&text))
            .filter(|n| *n >= 1)
            .map_or(PAGE_SIZE, |n| n.min(MAX_PAGE_SIZE));
        let page = Page { number, size };
        // Past the last page of any listing: refused before a query is made for it.
        match (number - 1).checked_mul(size) {
            Some(offset) if offset <= MAX_OFFSET => Ok(page),
            _ => Err(InvalidPage),
        }
    }

    /// SQL's `OFFSET` (at most `MAX_OFFSET` for a page `from_query` gave).
    pub fn offset(&self) -> i64 {
        (self.number - 1).saturating_mul(self.size)
    }

    /// SQL's `LIMIT`.
    pub fn limit(&self) -> i64 {
        self.size
    }

    /// The body of this page of `count` items in all, `results` being its own, for the request
    /// at `url` (absolute, with its query). A page past the last is an invalid page, but the first
    /// page of nothing is an empty page.
    pub fn body(&self, url: &str, count: i64, results: Vec<Value>) -> Result<Value, InvalidPage> {
        let pages = if count == 0 { 1 } else { (count + self.size - 1) / self.size };
        if self.number > pages {
            return Err(InvalidPage);
        }
        let next = (self.number < pages).then(|| with_page(url, Some(self.number + 1)));
        let previous = match self.number {
            1 => None,
            2 => Some(with_page(url, None)),
            n => Some(with_page(url, Some(n - 1))),
        };
        Ok(json!({ "count": count, "next": next, "previous": previous, "results": results }))
    }
}

/// The query of an absolute URL (without `?` and without the fragment); empty when it has none.
pub fn query_of(url: &str) -> &str {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    query.split_once('#').map_or(query, |(query, _)| query)
}

/// The first value of `name` in a query string, decoded.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    pairs(query.as_bytes()).find(|(key, _)| key == name).map(|(_, value)| value)
}

/// Python's `int()` of a query value: surrounding whitespace and a sign allowed, nothing else.
fn python_int(text: &str) -> Option<i64> {
    let text = text.trim();
    let digits = text.strip_prefix('+').unwrap_or(text);
    if digits.starts_with('-') {
        return text.parse().ok();
    }
    digits.parse().ok()
}

/// `url` with its `page` parameter set to `page` (or removed), as DRF's `replace_query_param` and
/// `remove_query_param` write it: every parameter re-encoded, sorted by name.
fn with_page(url: &str, page: Option<i64>) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let (query, fragment) = query.split_once('#').map_or((query, None), |(query, fragment)| (query, Some(fragment)));
    let mut params: Vec<(String, String)> = pairs(query.as_bytes()).filter(|(key, _)| key != "page").collect();
    if let Some(page) = page {
        params.push(("page".to_owned(), page.to_string()));
    }
    // By name, repeated names in their order (Python's stable `sorted` of `parse_qs`' items): an
    // insertion sort of a handful, where the standard stable sort is 3 KB of wasm.
    for i in 1..params.len() {
        let mut j = i;
        while j > 0 && params[j - 1].0 > params[j].0 {
            params.swap(j - 1, j);
            j -= 1;
        }
    }
    let mut out = base.to_owned();
    for (i, (key, value)) in params.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        quote_plus(key, &mut out);
        out.push('=');
        quote_plus(value, &mut out);
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// Python's `urllib.parse.quote_plus` of `text`, onto `out`: letters, digits and `_.-~` kept, a
/// space as `+`, every other byte `%XX`.
fn quote_plus(text: &str, out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => out.push(byte as char),
            b' ' => out.push('+'),
            _ => out.extend(['%', DIGITS[usize::from(byte >> 4)] as char, DIGITS[usize::from(byte & 0x0f)] as char]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://auth.example.com/api/v1/auth/events/";

    fn page(query: &str) -> Result<Page, InvalidPage> {
        Page::from_query(query)
    }

    #[test]
    fn the_first_page_of_twenty_is_asked_for_by_default() {
        assert_eq!(page(""), Ok(Page { number: 1, size: PAGE_SIZE }));
        assert_eq!(page("page=3&page_size=5"), Ok(Page { number: 3, size: 5 }));
        assert_eq!(page("page=%203%20").unwrap().number, 3);
        assert_eq!(page("page=+3").unwrap().number, 3);
    }

    #[test]
    fn a_page_that_is_not_a_positive_integer_is_an_invalid_page() {
        for query in ["page=0", "page=-1", "page=abc", "page=", "page=1.0", "page=2e3", "page=99999999999999999999"] {
            assert_eq!(page(query), Err(InvalidPage), "{query}");
        }
    }

    #[test]
    fn a_page_beyond_any_listing_is_an_invalid_page_before_any_query() {
        // Schemathesis found page=8700307766260785152&page_size=100 answered 500: its offset
        // could not be bound.
        assert_eq!(page("page=8700307766260785152&page_size=100"), Err(InvalidPage));
        assert_eq!(page(&format!("page={}", i64::MAX)), Err(InvalidPage));
        let last = MAX_OFFSET / 100 + 1;
        assert_eq!(page(&format!("page={last}&page_size=100")).unwrap().offset(), (last - 1) * 100);
        assert_eq!(page(&format!("page={}&page_size=100", last + 1)), Err(InvalidPage));
    }

    #[test]
    fn a_page_size_that_is_not_a_positive_integer_is_the_default_and_a_large_one_the_maximum() {
        for query in ["page_size=0", "page_size=-5", "page_size=x", "page_size="] {
            assert_eq!(page(query).unwrap().size, PAGE_SIZE, "{query}");
        }
        assert_eq!(page("page_size=1000").unwrap().size, MAX_PAGE_SIZE);
        assert_eq!(page("page_size=100").unwrap().size, 100);
    }

    #[test]
    fn offset_and_limit_select_the_page() {
        let third = Page { number: 3, size: 10 };
        assert_eq!((third.offset(), third.limit()), (20, 10));
        assert_eq!(Page { number: i64::MAX, size: 100 }.offset(), i64::MAX);
    }

    #[test]
    fn the_body_links_the_neighbouring_pages_absolutely() {
        let body = Page { number: 2, size: 10 }.body(&format!("{URL}?page=2"), 35, vec![json!(1)]).unwrap();
        assert_eq!(
            body,
            json!({
                "count": 35,
                "next": format!("{URL}?page=3"),
                "previous": URL,
                "results": [1],
            })
        );
        let last = Page { number: 4, size: 10 }.body(&format!("{URL}?page=4"), 35, vec![]).unwrap();
        assert_eq!(last["next"], Value::Null);
        assert_eq!(last["previous"], format!("{URL}?page=3"));
    }

    #[test]
    fn links_keep_the_other_parameters_sorted_and_re_encoded_as_drf_writes_them() {
        let url = format!("{URL}?user=7&search=a%20b%26c&page=2&page_size=1");
        let body = Page { number: 2, size: 1 }.body(&url, 3, vec![]).unwrap();
        assert_eq!(body["next"], format!("{URL}?page=3&page_size=1&search=a+b%26c&user=7"));
        assert_eq!(body["previous"], format!("{URL}?page_size=1&search=a+b%26c&user=7"));
    }

    #[test]
    fn the_first_page_of_nothing_is_empty_but_any_later_page_is_invalid() {
        let empty = Page { number: 1, size: 20 }.body(URL, 0, vec![]).unwrap();
        assert_eq!(empty, json!({"count": 0, "next": null, "previous": null, "results": []}));
        assert_eq!(Page { number: 2, size: 20 }.body(URL, 0, vec![]), Err(InvalidPage));
        assert_eq!(Page { number: 3, size: 10 }.body(URL, 20, vec![]), Err(InvalidPage));
        assert!(Page { number: 2, size: 10 }.body(URL, 11, vec![]).is_ok());
    }

    #[test]
    fn the_query_is_what_lies_between_the_question_mark_and_the_fragment() {
        assert_eq!(query_of("https://a.example/x/?page=2&b=1#top"), "page=2&b=1");
        assert_eq!(query_of("https://a.example/x/?page=2"), "page=2");
        assert_eq!(query_of("https://a.example/x/"), "");
    }

    #[test]
    fn repeated_parameters_keep_their_order_when_links_sort_them() {
        let url = format!("{URL}?b=2&a=z&b=1&page=1");
        let body = Page { number: 1, size: 1 }.body(&url, 2, vec![]).unwrap();
        assert_eq!(body["next"], format!("{URL}?a=z&b=2&b=1&page=2"));
    }

    #[test]
    fn query_params_are_decoded_and_the_first_one_wins() {
        assert_eq!(query_param("search=J%C3%BCrgen+M&search=x", "search").as_deref(), Some("Jürgen M"));
        assert_eq!(query_param("user=", "user").as_deref(), Some(""));
        assert_eq!(query_param("users=1", "user"), None);
    }
}
