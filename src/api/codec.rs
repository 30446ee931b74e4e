//! The protobuf codec of the `StepFunctions` service: prost's, except that a body that does not decode
//! (bad wire format, a string field that is not UTF-8) is the caller's `ValidationException`
//! (`INVALID_ARGUMENT`) instead of prost's `INTERNAL` with no AWS name.

use std::marker::PhantomData;

use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic::Status;
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

use super::status_from;
use crate::error::{ApiError, ErrorKind};

#[derive(Debug, Clone)]
pub struct AwsCodec<T, U> {
    _pd: PhantomData<(T, U)>,
}

impl<T, U> Default for AwsCodec<T, U> {
    fn default() -> Self {
        AwsCodec { _pd: PhantomData }
    }
}

impl<T, U> Codec for AwsCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = AwsDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::raw_encoder(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        AwsDecoder(ProstCodec::<T, U>::raw_decoder(BufferSettings::default()))
    }
}

/// prost's decoder with its errors made AWS errors.
#[derive(Debug)]
pub struct AwsDecoder<U>(ProstDecoder<U>);

impl<U: prost::Message + Default> Decoder for AwsDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buf).map_err(|status| {
            status_from(ApiError::new(
                ErrorKind::ValidationException,
                format!("Malformed request body: {}", status.message()),
            ))
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
