/** SIPp: 200 OK to the request just received (an in-dialog BYE or a CANCEL). */
export const SIPP_OK_TO_REQUEST = `
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>`;
