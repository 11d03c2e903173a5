// sendBeacon with a JSON string: sent as text/plain;charset=UTF-8, a
// "simple" request, so no CORS pre-flight is needed.
document.getElementById("beacon").addEventListener("click", function () {
  var sent = navigator.sendBeacon("/formrelay", JSON.stringify({
    entryId: "demo-beacon-0001",
    email: "beacon@example.com",
    _event: "Beacon Sent"
  }));
  document.getElementById("beacon-result").textContent =
    sent ? "Queued by the browser." : "The browser refused the beacon.";
});
